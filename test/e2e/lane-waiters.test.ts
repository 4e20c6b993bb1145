/**
 * Threat model promise 3: one workspace's calls that merely wait (on a timer, a slow
 * outbound fetch) cannot hold every light-lane slot. The light lane admits 32 in-flight
 * calls per light worker (src/runtime/lanes.ts; CANTRIP_SANDBOX_WORKERS=2 gives one light
 * worker, 32 slots) and a call keeps its slot while it waits, since the engines resume a
 * parked call without asking the host. Limits per agent (8 running each) did not stop one
 * workspace: five of its agents, 8 calls each waiting 9 s, held all 32 slots, and another
 * workspace's call waited the queue wait (5 s) and got 503 sandbox_busy (measured on the
 * old code: 5,001 ms, 503; the sleepers 32 × 200 and 8 × 503).
 *
 * Now a workspace's calls hold at most CANTRIP_SANDBOX_WORKSPACE_SHARE (75 %) of a lane:
 * 24 of the sleepers' calls run, the other 16 wait and end as their own workspace's limit
 * (429 rate_limited with Retry-After), and the bystander workspace's call is answered at once.
 */
import { afterAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { createWorkspace } from "../../src/auth";
import { startServer, type TestServer } from "../harness";
import { deploy, invoke, type Target } from "../reliability/host-helpers";

let s: TestServer;
afterAll(() => s?.stop());
const sleeper = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async () => { await new Promise((r) => setTimeout(r, 9000)); return { ok: true }; } } } });`;

test("five agents' calls waiting on timers do not turn another workspace's call into 503 sandbox_busy", async () => {
  s = await startServer();
  const tenant: Target = { url: s.url, token: s.token };
  const other: Target = { url: s.url, token: (await createWorkspace(s.db, "bystander")).token.token };
  const sleepers: { id: string; slug: string; key: string }[] = [];
  for (let i = 0; i < 5; i++) sleepers.push(await deploy(tenant, `sleeper ${i}`, sleeper));
  const bystander = await deploy(other, "bystander", trivialBackend(1));
  expect((await invoke(other, bystander.slug, bystander.key, { n: 1 })).status).toBe(200);
  // One call each first, so no sleeper is on probation (new agents wait for their first call).
  await Promise.all(sleepers.map(async (x) => expect((await invoke(tenant, x.slug, x.key, {})).status).toBe(200)));

  const calls = sleepers.flatMap((x) => Array.from({ length: 8 }, () => invoke(tenant, x.slug, x.key, {})));
  await Bun.sleep(500);
  const t0 = performance.now();
  const r = await invoke(other, bystander.slug, bystander.key, { n: 1 });
  const ms = performance.now() - t0;
  const slept = await Promise.all(calls);
  expect(r.status).toBe(200);
  expect(ms).toBeLessThan(1000);
  const tally = (xs: typeof slept) => xs.map((x) => `${x.status} ${x.body?.error?.code ?? ""}`.trim()).sort();
  expect(tally(slept)).toEqual([...Array(24).fill("200"), ...Array(16).fill("429 rate_limited")]);
  expect(slept.find((x) => x.status === 429)!.headers.get("retry-after")).toBe("1");
}, 60_000);

test("with one workspace there is nobody to keep slots for: its waiting calls may use the whole lane", async () => {
  // src/lib/tenancy.ts: the share binds only while several workspaces exist (a laptop keeps
  // all of its capacity). With the share always on, 8 of these 32 calls were refused (429).
  const one = await startServer();
  try {
    const tenant: Target = { url: one.url, token: one.token };
    const sleepers: { id: string; slug: string; key: string }[] = [];
    for (let i = 0; i < 4; i++) sleepers.push(await deploy(tenant, `sleeper ${i}`, sleeper));
    await Promise.all(sleepers.map(async (x) => expect((await invoke(tenant, x.slug, x.key, {})).status).toBe(200)));
    const slept = await Promise.all(sleepers.flatMap((x) => Array.from({ length: 8 }, () => invoke(tenant, x.slug, x.key, {}))));
    expect(slept.map((x) => x.status)).toEqual(Array(32).fill(200));
  } finally {
    await one.stop();
  }
}, 60_000);
