/**
 * Threat model, promise 1: `DELETE /v1/agents/{id}` used to delete the agent row and let
 * SQLite's ON DELETE CASCADE remove all its kv rows in one statement on the main thread.
 * The default `kvTotalBytes` (16 MiB) admits ~2M small keys per agent, so one ordinary API
 * call stalled every tenant: found by the attack review (1M rows, load average ~8: the DELETE
 * took 3.8 s and a bystander's invoke waited 3.8 s). Now the agent goes offline at once and
 * its kv rows are removed in batches with yields (src/agents/service.ts `delete`). The rows
 * are seeded in one transaction (seedKv); a backend reaches the same state with ordinary
 * `ctx.kv.set` calls.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { startServer, type TestServer } from "../harness";
import { call, deploy, keepInvoking, seedKv, kvRowCount, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
let culprit: { id: string; slug: string; key: string };
let bystander: { id: string; slug: string; key: string };

beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
  culprit = await deploy(t, "kv filler", trivialBackend(2));
  bystander = await deploy(t, "bystander", trivialBackend(1));
  await seedKv(s.db, culprit.id, 1_000_000);
}, 120_000);
afterAll(() => s.stop());

test("deleting an agent that holds 1M kv rows does not stall a bystander's invokes", async () => {
  const bystanderCalls = keepInvoking(t, bystander);
  const ms = bystanderCalls.ms;
  await Bun.sleep(100);
  const r = await call(t, "DELETE", `/v1/agents/${culprit.id}`);
  await Bun.sleep(200);
  await bystanderCalls.stop();
  expect(r.status).toBe(200);
  expect((await call(t, "GET", `/v1/agents/${culprit.id}`)).status).toBe(404);
  expect(Math.max(...ms)).toBeLessThan(500);
  expect(await kvRowCount(s.db, culprit.id)).toBe(0);
}, 60_000);
