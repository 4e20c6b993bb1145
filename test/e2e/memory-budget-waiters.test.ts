/**
 * BREAK (threat model, promise 3), not fixed here: the sandbox memory budget
 * (CANTRIP_SANDBOX_MEMORY_MB, default 1024) counts a busy instance at its memory limit, and
 * any workspace member may set an agent's memoryMb up to the operator maximum (default 256)
 * without the operator. Four such agents with one call each that merely waits on a timer
 * (no CPU, no memory actually used) reserve the whole budget for as long as they wait;
 * every other tenant's call then waits 1 s and gets 503 sandbox_memory_exhausted.
 * Measured with this test on main: the four sleepers answered 200 after 8 s; the
 * bystander's invoke, sent 1 s in, answered 503 sandbox_memory_exhausted. A fix needs a bound per workspace (or a default
 * maximum well under a quarter of the budget), or a call waiting on the host not to
 * reserve its full limit: left to the lead (`bun test --todo`).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { startServer, type TestServer } from "../harness";
import { deploy, invoke, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
const sleepers: { id: string; slug: string; key: string }[] = [];
let bystander: { id: string; slug: string; key: string };
const sleeper = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async (input) => { await new Promise((r) => setTimeout(r, input.ms ?? 0)); return { ok: true }; } } } });`;

beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
  for (let i = 0; i < 4; i++) sleepers.push(await deploy(t, `big sleeper ${i}`, sleeper, { limits: { memoryMb: 256 } }));
  bystander = await deploy(t, "bystander", trivialBackend(1));
  expect((await invoke(t, bystander.slug, bystander.key, { n: 1 })).status).toBe(200);
}, 180_000);
afterAll(() => s.stop());

test.todo("four agents at the maximum memoryMb, one waiting call each, do not turn a bystander's call into 503", async () => {
  const calls = sleepers.map((x) => invoke(t, x.slug, x.key, { ms: 8000 }));
  await Bun.sleep(1000);
  const r = await invoke(t, bystander.slug, bystander.key, { n: 1 });
  const waited = await Promise.all(calls);
  expect(waited.map((w) => w.status)).toEqual([200, 200, 200, 200]);
  console.log("bystander", r.status, r.body.error?.code);
  expect([r.status, r.body.error?.code]).toEqual([200, undefined]);
}, 60_000);
