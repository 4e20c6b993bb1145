/**
 * Issue 12 §2: deleting an agent right after (or while) it is invoked must not take the
 * process down. The invocation row is buffered for ~200 ms; on the old code the flush hit
 * the foreign key of the deleted agent, nothing caught it, and the process exited. Runs
 * cantrip as its own process, so "the same process keeps serving" is checked literally.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { trivialBackend } from "../../bench/lib/backends";
import { startCantrip, type CantripProcess } from "../../bench/lib/cantrip-process";
import { call, deploy, invoke, slowAnswerBackend, until } from "./host-helpers";

let p: CantripProcess;
beforeAll(async () => {
  p = await startCantrip();
});
afterAll(async () => {
  await p.stop();
  rmSync(p.dataDir, { recursive: true, force: true });
});

test("invoke then DELETE within the flush window: the process keeps serving", async () => {
  const pid = p.child.pid;
  const bystander = await deploy(p, "bystander", trivialBackend(1));
  for (let i = 0; i < 3; i++) {
    const a = await deploy(p, `doomed-${i}`, trivialBackend(1));
    expect((await invoke(p, a.slug, a.key, { n: i })).status).toBe(200);
    expect((await call(p, "DELETE", `/v1/agents/${a.id}`)).status).toBe(200);
  }
  await Bun.sleep(600); // several flushes of the invocation log
  expect(p.child.exitCode).toBeNull();
  expect(p.child.pid).toBe(pid);
  expect((await invoke(p, bystander.slug, bystander.key, { n: 7 })).body.data.response).toEqual({ ok: true, n: 7, version: 1 });
  const ready = await call(p, "GET", "/readyz");
  expect(ready.status).toBe(200);
  expect(ready.body.details.uncaught).toBe(0);
});

test("DELETE while a call is in flight: its late row is dropped and counted, never retried forever", async () => {
  const bystander = await deploy(p, "bystander-2", trivialBackend(2));
  const a = await deploy(p, "in-flight", slowAnswerBackend(400));
  const before = (await call(p, "GET", "/readyz")).body.details.rowsDropped as number;
  const pending = invoke(p, a.slug, a.key);
  await Bun.sleep(150);
  expect((await call(p, "DELETE", `/v1/agents/${a.id}`)).status).toBe(200);
  await pending; // whatever it answered, its row now names a deleted agent
  expect(await until(async () => (await call(p, "GET", "/readyz")).body.details.rowsDropped > before, 5000)).toBe(true);
  await Bun.sleep(500);
  const ready = (await call(p, "GET", "/readyz")).body.details;
  expect(ready.pendingLogRows).toBe(0); // nothing left to retry
  expect(ready.uncaught).toBe(0);
  expect(p.child.exitCode).toBeNull();
  expect((await invoke(p, bystander.slug, bystander.key, { n: 1 })).status).toBe(200);
});
