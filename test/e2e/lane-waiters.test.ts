/**
 * BREAK (threat model, promise 3), not fixed here: the light lane admits 32 in-flight calls
 * per light worker (src/runtime/lanes.ts; with the default CANTRIP_SANDBOX_WORKERS=2 that
 * is one worker, 32 slots), and a call holds its slot while it merely waits on a timer or
 * I/O. Fairness is per agent (8 running each), so five agents — one workspace's, or five
 * public apps that long-poll — whose calls each wait 9 s on a timer (no CPU, never
 * classified heavy) hold all 32 slots; another agent's call then waits the queue wait
 * (5 s) and gets 503 sandbox_busy. Measured with this test on main: the bystander's invoke
 * answered 503 sandbox_busy after 5,001 ms; the sleepers got 32 × 200 and 8 × 503.
 * A fix needs calls that wait on the host (timers, kv, fetch) not to hold a lane slot,
 * or a bound per workspace as well as per agent: left to the lead (`bun test --todo`).
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
export default defineBackend({ routes: { "POST /": { handle: async () => { await new Promise((r) => setTimeout(r, 9000)); return { ok: true }; } } } });`;

beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
  for (let i = 0; i < 5; i++) sleepers.push(await deploy(t, `sleeper ${i}`, sleeper));
  bystander = await deploy(t, "bystander", trivialBackend(1));
  expect((await invoke(t, bystander.slug, bystander.key, { n: 1 })).status).toBe(200);
  // One call each first, so no sleeper is on probation (new agents wait for their first call).
  await Promise.all(sleepers.map(async (x) => expect((await invoke(t, x.slug, x.key, {})).status).toBe(200)));
}, 180_000);
afterAll(() => s.stop());

test.todo("five agents' calls waiting on timers do not turn a bystander's call into 503 sandbox_busy", async () => {
  const calls = sleepers.flatMap((x) => Array.from({ length: 8 }, () => invoke(t, x.slug, x.key, {})));
  await Bun.sleep(500);
  const t0 = performance.now();
  const r = await invoke(t, bystander.slug, bystander.key, { n: 1 });
  const ms = performance.now() - t0;
  await Promise.all(calls);
  expect(r.status).toBe(200);
  expect(ms).toBeLessThan(1000);
}, 60_000);
