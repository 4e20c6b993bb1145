/**
 * Outbound requests are a shared resource too: Bun's fetch runs at most 256 at once
 * process-wide and queues the rest. One workspace's calls fetching a slow upstream (8 calls
 * × 40 requests that each take 1.5 s) used to hold all of them, and another workspace's
 * ctx.fetch to a fast host waited behind them (measured on the old code: ~1.5 s or more, for
 * a host that answers at once). Now guest requests take a slot (src/runtime/egress-slots.ts:
 * 192 in all, 75 % of them per workspace): the other workspace's request is answered at
 * once and the hog's extra requests wait for its own slots, within its fetch timeout.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime";
import { EgressSlots } from "../../src/runtime/egress-slots";
import { bundle, json, makeHarness, req, type Harness } from "./harness";

const FETCHER = `import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /many": { input: t.Object({ url: t.String(), n: t.Number() }), handle: async ({ url, n }, ctx) => {
    const bodies = await Promise.all(Array.from({ length: n }, () => ctx.fetch(url).then((r) => r.text())));
    return { n: bodies.filter((b) => b === "slow").length };
  } },
  "POST /one": { input: t.Object({ url: t.String() }), handle: async ({ url }, ctx) => ({ got: await (await ctx.fetch(url)).text() }) },
  "GET /ok": () => ({ ok: true }),
} });`;

const slow = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async () => (await Bun.sleep(1500), new Response("slow")) });
const fast = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("fast") });
afterAll(() => (slow.stop(true), fast.stop(true)));

let H: Harness | undefined;
afterEach(async () => {
  await H?.close();
  H = undefined;
});

test("one workspace's requests to a slow upstream do not hold another workspace's ctx.fetch", async () => {
  H = makeHarness(quickjsEngine, { allowPrivate: true });
  const code = await bundle(FETCHER);
  const hosts = ["127.0.0.1"];
  const hog = H.ref("hog", code, { allowedHosts: hosts, workspaceId: "ws-a", limits: { fetchPerCall: 100, fetchTimeoutMs: 10_000, wallMs: 20_000 } });
  const other = H.ref("other", code, { allowedHosts: hosts, workspaceId: "ws-b" });
  for (const r of [hog, other]) await H.runtime.fetch(r, req("GET", "/ok"));

  const calls = Array.from({ length: 8 }, () => H!.runtime.fetch(hog, req("POST", "/many", { url: `http://127.0.0.1:${slow.port}/`, n: 40 })));
  await Bun.sleep(500);
  const t0 = performance.now();
  expect(json(await H.runtime.fetch(other, req("POST", "/one", { url: `http://127.0.0.1:${fast.port}/` })))).toEqual({ got: "fast" });
  expect(performance.now() - t0).toBeLessThan(700);
  // The hog is not refused: its 320 requests went through its 144 slots, a few rounds of 1.5 s.
  for (const r of await Promise.all(calls)) expect(json(r)).toEqual({ n: 40 });
}, 60_000);

test("slots: a key holds at most its share; waiters are served in order as slots free; an abort leaves the queue", async () => {
  const s = new EgressSlots(4, 0.5);
  const never = new AbortController().signal;
  const a1 = await s.acquire("a", never);
  await s.acquire("a", never);
  expect(s.held("a")).toBe(2);
  let a3 = false;
  const third = s.acquire("a", never).then((r) => ((a3 = true), r));
  const b1 = await s.acquire("b", never); // another key is not behind a's waiter
  expect(s.held("b")).toBe(1);
  const gone = new AbortController();
  const aborted = s.acquire("a", gone.signal);
  gone.abort(new Error("timeout"));
  await expect(aborted).rejects.toThrow("timeout");
  await Bun.sleep(0);
  expect(a3).toBe(false);
  a1();
  a1(); // releasing twice frees one slot only
  (await third)();
  expect(a3).toBe(true);
  expect(s.held("a")).toBe(1);
  b1();
  expect(s.held("b")).toBe(0);
});
