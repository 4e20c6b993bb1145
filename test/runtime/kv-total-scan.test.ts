/**
 * Threat model, promises 1 and 3: every `ctx.kv.set` used to check the agent's total with
 * `SELECT sum(size) FROM kv WHERE agent_id = ? AND key <> ?` on the main thread, O(rows of
 * that agent). The default `kvTotalBytes` (16 MiB) admits about two million one-byte values
 * under short keys, so a backend that had filled its kv with small keys made every later
 * set of its own cost ~100–450 ms of the event loop, and every other tenant waited.
 * Reaching that state needs only ordinary calls (a sequential `await ctx.kv.set` loop wrote
 * 1,000 keys in 412 ms); the test seeds the rows in one transaction (seedKv) to save time.
 * Measured with this test on the old code (load average ~8): eight concurrent calls of ten
 * sets each; the bystander managed 3 invokes in ~13 s (median 923 ms, max 12,136 ms), and
 * the culprit's own calls ended 504 wall_timeout / 502 crashed. Now kv-sqlite.ts keeps a
 * running total per agent; what remains is one `sum(size)` per agent per process (the
 * first write after start-up), which the warm-up call below takes.
 * Same kind, kv.list: `list({ prefix })` scanned from the cursor with only a substr() filter,
 * so a prefix no key has (here "a…", before every key) read all 1M rows per call; on the old
 * code eight calls of ten lists held a bystander for up to 9.7 s. Now a prefix is a key range.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { startServer, type TestServer } from "../harness";
import { deploy, invoke, keepInvoking, seedKv, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
let culprit: { id: string; slug: string; key: string };
let bystander: { id: string; slug: string; key: string };

const setter = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async (input, ctx) => {
  if (input.list) for (let i = 0; i < input.n; i++) await ctx.kv.list({ prefix: "a" + i });
  else for (let i = 0; i < input.n; i++) await ctx.kv.set("new" + i, 1);
  return { ok: true };
} } } });`;

beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
  culprit = await deploy(t, "kv filler", setter);
  bystander = await deploy(t, "bystander", trivialBackend(1));
  await seedKv(s.db, culprit.id, 1_000_000);
}, 120_000);
afterAll(() => s.stop());

test("an agent holding 1M small kv keys: eight calls of ten sets each do not stall a bystander's invokes", async () => {
  // The running total is read once per agent per process: the first write pays one sum.
  expect((await invoke(t, culprit.slug, culprit.key, { n: 1 })).status).toBe(200);
  const bystanderCalls = keepInvoking(t, bystander);
  const ms = bystanderCalls.ms;
  const rs = await Promise.all(Array.from({ length: 8 }, () => invoke(t, culprit.slug, culprit.key, { n: 10 })));
  await bystanderCalls.stop();
  console.log("culprit", rs.map((r) => `${r.status} ${r.body.error?.message ?? ""}`).join(" | "), "bystander n", ms.length, "max", Math.round(Math.max(...ms)), "median", Math.round(ms.sort((a, b) => a - b)[ms.length >> 1]!));
  expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
  expect(ms.length).toBeGreaterThan(0);
  expect(Math.max(...ms)).toBeLessThan(500);
}, 60_000);

test("eight calls of ten kv.list calls with a prefix no key has do not stall a bystander's invokes", async () => {
  const bystanderCalls = keepInvoking(t, bystander);
  const ms = bystanderCalls.ms;
  const rs = await Promise.all(Array.from({ length: 8 }, () => invoke(t, culprit.slug, culprit.key, { n: 10, list: true })));
  await bystanderCalls.stop();
  console.log("list culprit", rs.map((r) => r.status).join(), "bystander n", ms.length, "max", Math.round(Math.max(...ms)), "median", Math.round(ms.sort((a, b) => a - b)[ms.length >> 1]!));
  expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
  expect(ms.length).toBeGreaterThan(0);
  expect(Math.max(...ms)).toBeLessThan(500);
}, 60_000);
