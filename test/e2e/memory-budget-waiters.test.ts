/**
 * Threat model promise 3: the sandbox memory budget (CANTRIP_SANDBOX_MEMORY_MB, default
 * 1024) counts a busy instance at its memory limit, since it may grow to it before its call
 * ends, and any workspace member may set an agent's memoryMb up to the operator maximum
 * (default 256). Four such agents with one call each that merely waits on a timer reserved
 * the whole budget for as long as they waited; every other workspace's call then waited 1 s
 * and got 503 sandbox_memory_exhausted (measured on the old code: the four sleepers 200 after
 * 8 s; the bystander's invoke, sent 1 s in, 503).
 *
 * Now one workspace's busy instances reserve at most CANTRIP_SANDBOX_WORKSPACE_SHARE (75 %)
 * of the budget (beyond its first instance): three sleepers run, the fourth waits 1 s and is
 * refused with its own workspace's reason, and the other workspace's call is answered.
 */
import { afterAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { createWorkspace } from "../../src/auth";
import { startServer, type TestServer } from "../harness";
import { call, deploy, invoke, type Target } from "../reliability/host-helpers";

let s: TestServer;
afterAll(() => s?.stop());
const sleeper = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async (input) => { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { ok: true }; } } } });`;

test("four agents at the maximum memoryMb, one waiting call each, do not turn another workspace's call into 503", async () => {
  s = await startServer();
  const tenant: Target = { url: s.url, token: s.token };
  const other: Target = { url: s.url, token: (await createWorkspace(s.db, "bystander")).token.token };
  const sleepers: { id: string; slug: string; key: string }[] = [];
  for (let i = 0; i < 4; i++) sleepers.push(await deploy(tenant, `big sleeper ${i}`, sleeper, { limits: { memoryMb: 256 } }));
  const bystander = await deploy(other, "bystander", trivialBackend(1));
  expect((await invoke(other, bystander.slug, bystander.key, { n: 1 })).status).toBe(200);

  const calls = sleepers.map((x) => invoke(tenant, x.slug, x.key, { ms: 8000 }));
  await Bun.sleep(1000);
  const r = await invoke(other, bystander.slug, bystander.key, { n: 1 });
  const waited = await Promise.all(calls);
  expect([r.status, r.body.error?.code]).toEqual([200, undefined]);
  expect(waited.map((w) => `${w.status} ${w.body?.error?.code ?? ""}`.trim()).sort()).toEqual(["200", "200", "200", "503 sandbox_memory_exhausted"]);
  // The refused sleeper's own log says why: its workspace's share, not the sandbox being full.
  const refused = sleepers[waited.findIndex((w) => w.status === 503)]!;
  const logs = await call(tenant, "GET", `/v1/agents/${refused.id}/logs`);
  expect(JSON.stringify(logs.body)).toContain("one workspace may reserve at most");
}, 60_000);
