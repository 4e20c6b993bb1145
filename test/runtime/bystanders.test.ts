/**
 * Issue 13 §4: one call's kill must not take other agents' calls with it. Bystanders are
 * parked on a timer (after a kv read-modify-write) and on ctx.fetch while a culprit on the
 * same worker runs a native builtin past its CPU slice (the watchdog kills the worker), or
 * while large bundles are load-checked. The bystanders answer 200, their side effects
 * happen exactly once (the re-run answers them from the call's journal), and a bystander
 * whose re-run would repeat a side effect fails cleanly instead of writing twice. The V8
 * engine's same shape: an isolate catastrophe that takes its whole sidecar down.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime";
import { probeV8, v8Engine } from "../../src/runtime/v8";
import { bundle, failureOf, json, makeHarness, req, type Harness } from "./harness";
import { EVAL } from "./contract/fixtures";

const PARKED = `
import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /timer": { input: t.Object({ ms: t.Number() }), handle: async ({ ms }, ctx) => {
    const n = ((await ctx.kv.get("count")) ?? 0) + 1;
    await ctx.kv.set("count", n);
    await new Promise((r) => setTimeout(r, ms));
    return { n };
  } },
  "POST /fetch": { input: t.Object({ url: t.String() }), handle: async ({ url }, ctx) => {
    const r = await ctx.fetch(url, { method: "POST", body: "once" });
    return { got: await r.text() };
  } },
  "POST /random-write": { input: t.Object({ ms: t.Number() }), handle: async ({ ms }, ctx) => {
    await ctx.kv.set("r-" + Math.random(), 1);
    await new Promise((r) => setTimeout(r, ms));
    return { ok: true };
  } },
  "GET /ok": () => ({ ok: true }),
} });`;

/**
 * One native call of ~0.5 s at full speed (a naive substring search of 10^9 comparisons, no
 * interrupt poll inside): past a 150 ms CPU limit only the watchdog's kill stops it. (A sort of
 * 5·10^6 doubles, used before, sometimes ended inside the limit's grace once the WebAssembly
 * had tiered up; QuickJS's interrupt then stopped the call with no kill and nothing re-ran.)
 */
const NATIVE_SEARCH = `return "a".repeat(500000).indexOf("a".repeat(2000) + "b");`;

let H: Harness;
let server: ReturnType<typeof Bun.serve>;
let hits = 0;
let parked = "";
let evalCode = "";

beforeAll(async () => {
  // Two workers: one light, one heavy (lanes.ts). The culprit is new, so it runs in the
  // light lane next to the bystanders — the worst case.
  H = makeHarness(quickjsEngine, { allowPrivate: true });
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(r) {
      hits++;
      const body = await r.text();
      await Bun.sleep(1200);
      return new Response(`echo:${body}`);
    },
  });
  parked = await bundle(PARKED);
  evalCode = await bundle(EVAL);
});
afterAll(async () => {
  server.stop(true);
  await H.close();
});

const kvCount = (agent: string) => (H.db.sqlite.query("SELECT value FROM kv WHERE agent_id = ? AND key = 'count'").get(agent) as { value: string } | null)?.value;

test("bystanders parked on a timer and on ctx.fetch survive a watchdog kill of their worker", async () => {
  const timerRef = H.ref("by-timer", parked, { limits: { wallMs: 8000 } });
  const fetchRef = H.ref("by-fetch", parked, { allowedHosts: ["127.0.0.1"], limits: { wallMs: 8000 } });
  // Warm both bystanders (instances on the light worker).
  expect(json(await H.runtime.fetch(timerRef, req("GET", "/ok")))).toEqual({ ok: true });
  expect(json(await H.runtime.fetch(fetchRef, req("GET", "/ok")))).toEqual({ ok: true });
  hits = 0;
  const replaysBefore = H.runtime.stats().replays;

  const byTimer = H.runtime.fetch(timerRef, req("POST", "/timer", { ms: 1500 }));
  const byFetch = H.runtime.fetch(fetchRef, req("POST", "/fetch", { url: `http://127.0.0.1:${server.port}/slow` }));
  await Bun.sleep(300);
  const culprit = H.ref("culprit", evalCode, { limits: { cpuMs: 150 } });
  const kills = H.runtime.stats().watchdogKills;
  const f = await failureOf(() => H.runtime.fetch(culprit, req("POST", "/eval", { code: NATIVE_SEARCH })));
  expect(f).toMatchObject({ code: "endpoint_timeout", reason: "cpu_timeout" });
  expect(H.runtime.stats().watchdogKills).toBe(kills + 1);

  const [t, fe] = await Promise.all([byTimer, byFetch]);
  expect(t.status).toBe(200);
  expect(json(t)).toEqual({ n: 1 });
  expect(fe.status).toBe(200);
  expect(json(fe)).toEqual({ got: "echo:once" });
  // Both were really re-run, and their side effects happened once.
  expect(H.runtime.stats().replays - replaysBefore).toBeGreaterThanOrEqual(2);
  expect(hits).toBe(1);
  expect(kvCount("by-timer")).toBe("1");
  // The culprit's agent serves again.
  expect(json(await H.runtime.fetch(culprit, req("GET", "/ok")))).toEqual({ ok: true });
}, 60000);

test("a bystander whose re-run would diverge after a side effect fails cleanly, without writing twice", async () => {
  const ref = H.ref("by-random", parked, { limits: { wallMs: 8000 } });
  expect(json(await H.runtime.fetch(ref, req("GET", "/ok")))).toEqual({ ok: true });
  const by = failureOf(() => H.runtime.fetch(ref, req("POST", "/random-write", { ms: 1500 })));
  await Bun.sleep(300);
  // A new agent (the first culprit is in the heavy lane by now, away from bystanders).
  const culprit = H.ref("culprit-2", evalCode, { limits: { cpuMs: 150 } });
  const kills = H.runtime.stats().watchdogKills;
  expect(await failureOf(() => H.runtime.fetch(culprit, req("POST", "/eval", { code: NATIVE_SEARCH })))).toMatchObject({ reason: "cpu_timeout" });
  expect(H.runtime.stats().watchdogKills).toBe(kills + 1);
  const f = await by;
  expect(f.code).toBe("endpoint_unreachable");
  expect(f.message).toContain("could not be re-run safely");
  const keys = H.db.sqlite.query("SELECT count(*) AS n FROM kv WHERE agent_id = 'by-random'").get() as { n: number };
  expect(keys.n).toBe(1);
}, 60000);

test("load-checks of large bundles never run where other agents' calls are in flight", async () => {
  const parts: string[] = [];
  for (let i = 0; i < 5000; i++) parts.push(`export function f${i}(a, b) { const x = [a, b, ${i}, "s${i}"]; if (a > b) return x.map((v) => String(v) + "-${i}").join(","); return { a, b, i: ${i}, s: "str${i}" }; }`);
  const big = await bundle(`import { defineBackend } from "cantrip";\n${parts.join("\n")}\nexport default defineBackend({ routes: { "GET /": () => ({ ok: f1(1, 2) }) } });`);
  expect(big.length).toBeGreaterThan(800 * 1024);
  const timerRef = H.ref("by-timer2", parked, { limits: { wallMs: 8000 } });
  expect(json(await H.runtime.fetch(timerRef, req("GET", "/ok")))).toEqual({ ok: true });
  const replaysBefore = H.runtime.stats().replays;
  const bystanders = [1, 2, 3].map(() => H.runtime.fetch(timerRef, req("POST", "/timer", { ms: 1000 })));
  await Bun.sleep(100);
  // Three uploads at once; a tight CPU limit makes each compile overrun its slice, so the
  // watchdog kills whatever worker compiles it.
  const checks = await Promise.all([1, 2, 3].map((i) => H.runtime.check(H.ref(`big-${i}`, big, { limits: { cpuMs: 40 } })).then(() => "ok", (e) => String((e as { details?: { reason?: string } }).details?.reason))));
  for (const c of checks) expect(["ok", "cpu_timeout"]).toContain(c);
  const res = await Promise.all(bystanders);
  expect(res.map((r) => r.status)).toEqual([200, 200, 200]);
  // They were never on the compiling worker: nothing had to be re-run.
  expect(H.runtime.stats().replays).toBe(replaysBefore);
}, 60000);

const v8probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
test.skipIf(!v8probe.ok)("v8: a bystander on a timer survives the sidecar restart another agent's isolate catastrophe causes", async () => {
  // One sidecar, so the culprit and the bystander certainly share it.
  const V = makeHarness(v8Engine({ node: v8probe.ok ? v8probe.runtime.node : undefined }), {}, { workers: 1 });
  try {
    const by = V.ref("v8-by", parked, { limits: { wallMs: 8000 } });
    expect(json(await V.runtime.fetch(by, req("GET", "/ok")))).toEqual({ ok: true });
    const parkedCall = V.runtime.fetch(by, req("POST", "/timer", { ms: 1500 }));
    await Bun.sleep(300);
    // A Map that outgrows a 32 MB heap makes V8 give up on the whole process (isolated-vm's
    // "catastrophic" out-of-memory): the sidecar dies with every isolate on it.
    const culprit = V.ref("v8-culprit", evalCode, { limits: { memoryBytes: 32 * 1024 * 1024, cpuMs: 5000 } });
    const f = await failureOf(() => V.runtime.fetch(culprit, req("POST", "/eval", { code: "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i });" })));
    expect(f.reason).toBe("memory_limit");
    const r = await parkedCall;
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ n: 1 });
    expect(V.runtime.stats().replays).toBeGreaterThanOrEqual(1);
    expect((V.db.sqlite.query("SELECT value FROM kv WHERE agent_id = 'v8-by' AND key = 'count'").get() as { value: string }).value).toBe("1");
  } finally {
    await V.close();
  }
}, 60000);
