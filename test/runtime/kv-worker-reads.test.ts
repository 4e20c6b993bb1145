/**
 * Issue 15: a guest's kv.get answered by the sandbox worker's own read-only connection
 * (src/runtime/quickjs/kv-reads.ts) instead of a round trip to the main thread. What must
 * hold: the main thread's kv store is not asked; the guest gets the same value and the same
 * errors as through the main thread; a call's own writes are seen by its next read; a
 * scratch run never reads the agent's table; and a read-then-write bystander re-run after a
 * watchdog kill still answers from its journal (test/runtime/bystanders.test.ts runs on this
 * path too, the harness turns it on by default).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { quickjsEngine, type KvStore } from "../../src/runtime";
import { bundle, json, makeHarness, req, type Harness } from "./harness";

const BACKEND = `
import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /get": { input: t.Object({ key: t.Any() }), handle: async ({ key }, ctx) => {
    try { return { value: (await ctx.kv.get(key)) ?? null }; } catch (e) { return { error: String(e.message ?? e) }; }
  } },
  "POST /read-loop": { input: t.Object({ ms: t.Number() }), handle: async ({ ms }, ctx) => {
    const until = Date.now() + ms;
    let reads = 0;
    while (Date.now() < until) { await ctx.kv.get("loop"); reads++; }
    return { reads };
  } },
  "POST /ok": () => ({ ok: true }),
  "POST /unawaited": { input: t.Object({ key: t.String(), value: t.Any() }), handle: async ({ key, value }, ctx) => {
    ctx.kv.set(key, value);
    return { got: (await ctx.kv.get(key)) ?? null };
  } },
  "POST /set-get": { input: t.Object({ key: t.String(), value: t.Any() }), handle: async ({ key, value }, ctx) => {
    const before = (await ctx.kv.get(key)) ?? null;
    await ctx.kv.set(key, value);
    return { before, after: (await ctx.kv.get(key)) ?? null };
  } },
} });`;

/** Counts the kv.get calls that reach the main thread's store. */
function counting(gets: { n: number }) {
  return (store: KvStore): KvStore => ({
    ...store,
    get: (agentId, key) => {
      gets.n++;
      return store.get(agentId, key);
    },
    set: store.set.bind(store),
    delete: store.delete.bind(store),
    list: store.list.bind(store),
  });
}

let local: Harness;
let bridged: Harness;
const localGets = { n: 0 };
const bridgedGets = { n: 0 };
let code = "";

beforeAll(async () => {
  code = await bundle(BACKEND);
  local = makeHarness(quickjsEngine, {}, { kv: counting(localGets) });
  bridged = makeHarness(quickjsEngine, {}, { workerKvReads: false, kv: counting(bridgedGets) });
});
afterAll(async () => {
  await local?.close();
  await bridged?.close();
});

const VALUES: unknown[] = [
  0,
  -1.5e300,
  "plain",
  "ünïcödé ✓ 𝄞 \u2028\u2029 \"quoted\" \\ back",
  "lone \ud800 surrogate",
  { nested: { deep: [1, [2, [3, { four: null }]]], "__proto__": { polluted: true }, "": "empty key" } },
  [true, false, null, "x".repeat(10_000)],
];

test("a kv.get is answered in the worker, with the value the main thread would answer, and sees the call's own write", async () => {
  for (const h of [local, bridged]) {
    const ref = h.ref("kv-reads", code);
    for (const [i, value] of VALUES.entries()) {
      const key = `k${i} ✓`;
      const r = await h.runtime.fetch(ref, req("POST", "/set-get", { key, value }));
      expect(r.status).toBe(200);
      expect(json(r)).toEqual({ before: null, after: value });
      expect(json(await h.runtime.fetch(ref, req("POST", "/get", { key })))).toEqual({ value });
    }
    expect(json(await h.runtime.fetch(ref, req("POST", "/get", { key: "missing" })))).toEqual({ value: null });
  }
  // 2 reads per value plus the miss: through the main thread only where worker reads are off.
  expect(bridgedGets.n).toBe(VALUES.length * 3 + 1);
  expect(localGets.n).toBe(0);
});

test("arguments the validation point refuses get the main thread's error", async () => {
  for (const key of [42, "k".repeat(600), null]) {
    const answers = [];
    for (const h of [local, bridged]) answers.push(json(await h.runtime.fetch(h.ref("kv-bad", code), req("POST", "/get", { key }))));
    expect(answers[0]).toHaveProperty("error");
    expect(answers[0]).toEqual(answers[1]!);
  }
});

test("an agent reads only its own rows", async () => {
  const a = local.ref("kv-own-a", code);
  const b = local.ref("kv-own-b", code);
  await local.runtime.fetch(a, req("POST", "/set-get", { key: "shared-name", value: "a's" }));
  expect(json(await local.runtime.fetch(b, req("POST", "/get", { key: "shared-name" })))).toEqual({ value: null });
  expect(json(await local.runtime.fetch(a, req("POST", "/get", { key: "shared-name" })))).toEqual({ value: "a's" });
});

test("a scratch run reads its world's kv, never the agent's table", async () => {
  const ref = local.ref("kv-scratch", code);
  await local.runtime.fetch(ref, req("POST", "/set-get", { key: "k", value: "production" }));
  const world = local.runtime.openScratch("kv_scratch_world");
  try {
    const scratch = { ...ref, bundleId: "scratch-b", config: { ...ref.config, scratch: { namespace: "kv_scratch_world" } } };
    const before = localGets.n;
    expect(json(await local.runtime.fetch(scratch, req("POST", "/get", { key: "k" })))).toEqual({ value: null });
    expect(json(await local.runtime.fetch(scratch, req("POST", "/set-get", { key: "k", value: "scratch" })))).toEqual({ before: null, after: "scratch" });
    // The scratch world's kv is not the store the runtime was given: its reads did not pass the counter either,
    // and the agent's row is untouched.
    expect(localGets.n).toBe(before);
    expect(json(await local.runtime.fetch(ref, req("POST", "/get", { key: "k" })))).toEqual({ value: "production" });
  } finally {
    world.discard();
    local.runtime.evict("kv-scratch", "scratch-b");
  }
});

test("a guest awaiting kv.get in a loop leaves other calls on its worker their turns", async () => {
  // One light worker (the harness's two workers: one light, one heavy); both agents are new, so light.
  const reader = local.ref("kv-loop-reader", code, { limits: { cpuMs: 5000, wallMs: 10_000 } });
  const other = local.ref("kv-loop-other", code);
  expect(json(await local.runtime.fetch(other, req("POST", "/ok", {})))).toEqual({ ok: true });
  const loop = local.runtime.fetch(reader, req("POST", "/read-loop", { ms: 2000 }));
  await Bun.sleep(150);
  const t0 = performance.now();
  expect(json(await local.runtime.fetch(other, req("POST", "/ok", {})))).toEqual({ ok: true });
  const waited = performance.now() - t0;
  const r = await loop;
  expect(r.status).toBe(200);
  expect(json(r).reads).toBeGreaterThan(100);
  // Answered between the reader's turns, not after its loop (which ran on for ~1.85 s more).
  expect(waited).toBeLessThan(1000);
});

test("a kv.get after a kv.set the guest did not await reads the write", async () => {
  for (const h of [local, bridged]) {
    const ref = h.ref("kv-unawaited", code);
    for (let i = 0; i < 20; i++) expect(json(await h.runtime.fetch(ref, req("POST", "/unawaited", { key: "k", value: i })))).toEqual({ got: i });
  }
});
