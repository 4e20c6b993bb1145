/**
 * The warm-instance pool: reuse across calls, LRU eviction under the memory budget, new
 * versions replacing old ones without dropping in-flight calls, per-instance concurrency,
 * and what an idle QuickJS instance is charged against the budget: the memory its
 * interpreter has written (the highest heap top seen, instance.ts residentBytes), not its
 * whole WebAssembly memory (16 MiB at least, most of it never touched) — so a budget holds
 * as many idle backends as their real size allows, and an instance that once wrote a lot
 * stays charged for it (written pages stay resident).
 */
import { afterEach, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime";
import { EVAL } from "./contract/fixtures";
import { bundle, json, makeHarness, req, type Harness } from "./harness";

const COUNTER = (v: number) => `import { defineBackend } from "cantrip";
let hits = 0;
export default defineBackend({ routes: {
  "GET /": () => ({ v: ${v}, hits: ++hits }),
  "GET /slow": async () => { await new Promise((r) => setTimeout(r, 300)); return { v: ${v}, slow: true }; },
} });`;

let H: Harness | undefined;
afterEach(async () => {
  await H?.close();
  H = undefined;
});

test("warm instances are reused across calls", async () => {
  H = makeHarness(quickjsEngine);
  const ref = H.ref("warm", await bundle(COUNTER(1)));
  for (let i = 1; i <= 5; i++) expect(json(await H.runtime.fetch(ref, req("GET", "/")))).toEqual({ v: 1, hits: i });
  expect(H.runtime.stats()).toMatchObject({ instances: 1, loads: 1, workers: 2 });
});

test("a new version takes over while the old version's in-flight call completes", async () => {
  H = makeHarness(quickjsEngine);
  const v1 = H.ref("upgrade", await bundle(COUNTER(1)));
  const v2 = H.ref("upgrade", await bundle(COUNTER(2)));
  await H.runtime.fetch(v1, req("GET", "/"));
  const inflight = H.runtime.fetch(v1, req("GET", "/slow"));
  await Bun.sleep(50);
  expect(json(await H.runtime.fetch(v2, req("GET", "/")))).toEqual({ v: 2, hits: 1 });
  H.runtime.evict("upgrade", v1.bundleId);
  expect(json(await inflight)).toEqual({ v: 1, slow: true });
  expect(H.runtime.stats().instances).toBe(1);
});

test("idle instances are LRU-evicted under the memory budget and reload on demand", async () => {
  // A busy instance is charged its 24 MiB cap, an idle one what it has written (~6 MiB:
  // instance.ts residentBytes): a 32 MiB budget holds one busy call and one idle instance.
  H = makeHarness(quickjsEngine, {}, { memoryBudgetBytes: 32 * 1024 * 1024 });
  const rt = H.runtime;
  {
    const code = await bundle(COUNTER(1));
    const refs = ["lru-a", "lru-b", "lru-c", "lru-d"].map((a) => H!.ref(a, code, { limits: { memoryBytes: 24 * 1024 * 1024 } }));
    for (const r of refs) await rt.fetch(r, req("GET", "/"));
    expect(rt.stats()).toMatchObject({ instances: 2, loads: 4, evictions: 2 });
    expect(json(await rt.fetch(refs[3]!, req("GET", "/")))).toEqual({ v: 1, hits: 2 });
    expect(json(await rt.fetch(refs[0]!, req("GET", "/")))).toEqual({ v: 1, hits: 1 });
    expect(rt.stats().loads).toBe(5);
  }
});

test("calls beyond an instance's concurrency wait or use a second instance", async () => {
  H = makeHarness(quickjsEngine);
  const ref = H.ref("conc", await bundle(COUNTER(1)), { limits: { concurrency: 1 } });
  const t0 = performance.now();
  const all = await Promise.all([1, 2, 3, 4].map(() => H!.runtime.fetch(ref, req("GET", "/slow"))));
  expect(all.every((r) => r.status === 200)).toBe(true);
  const ms = performance.now() - t0;
  expect(ms).toBeGreaterThanOrEqual(550); // 2 instances (one per worker) × 1 call each → two rounds
  expect(H.runtime.stats().instances).toBe(2);
});

test("an instance belongs to one owner: the same bundle id in two agents, or with changed grants, never shares one", async () => {
  H = makeHarness(quickjsEngine);
  const code = await bundle(`import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": async (_i, ctx) => ({ agent: ctx.agentId, secrets: ctx.secrets.names(), seen: (await ctx.kv.get("k")) ?? null }) } });`);
  H.agent("owner-a");
  H.db.sqlite.run(`INSERT INTO kv (agent_id, key, value, size) VALUES ('owner-a', 'k', '"private-a"', 11)`);
  const a = H.ref("owner-a", code, { bundleId: "cand_same" });
  const b = H.ref("owner-b", code, { bundleId: "cand_same" });
  await H.runtime.check(a);
  expect(json(await H.runtime.fetch(b, req("GET", "/")))).toEqual({ agent: "owner-b", secrets: [], seen: null });
  expect(json(await H.runtime.fetch(a, req("GET", "/")))).toEqual({ agent: "owner-a", secrets: [], seen: "private-a" });
  // A new grant (or a revoked one) is a different owner: a fresh instance, the stale one retires.
  const granted = H.ref("owner-a", code, { bundleId: "cand_same", secrets: [{ name: "TOKEN", hosts: ["api.example.com"] }] });
  expect(json(await H.runtime.fetch(granted, req("GET", "/")))).toEqual({ agent: "owner-a", secrets: ["TOKEN"], seen: "private-a" });
  expect(json(await H.runtime.fetch(a, req("GET", "/")))).toEqual({ agent: "owner-a", secrets: [], seen: "private-a" });
  expect(H.runtime.stats()).toMatchObject({ loads: 4, instances: 2 });
});

const MiB = 1024 * 1024;
const TRIVIAL = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": () => ({ ok: true }) } });`;

test("an idle instance is charged what its interpreter has written, well under its 16 MiB memory", async () => {
  H = makeHarness(quickjsEngine);
  await H.runtime.fetch(H.ref("small", await bundle(TRIVIAL)), req("GET", "/"));
  const { instances, memoryBytes } = H.runtime.stats();
  expect(instances).toBe(1);
  expect(memoryBytes).toBeGreaterThan(MiB);
  expect(memoryBytes).toBeLessThan(10 * MiB);
});

test("an instance that wrote 24 MB and let it go stays charged for it", async () => {
  H = makeHarness(quickjsEngine);
  const ref = H.ref("big", await bundle(EVAL), { limits: { memoryBytes: 64 * MiB } });
  const r = await H.runtime.fetch(ref, req("POST", "/eval", { code: `let a = new Uint8Array(24e6); for (let i = 0; i < a.length; i += 4096) a[i] = 1; const n = a.length; a = null; return n;` }));
  expect(json(r).result).toBe(24e6);
  expect(H.runtime.stats().memoryBytes).toBeGreaterThan(24 * MiB);
});

test("a 48 MiB budget keeps five small idle backends warm (charged at their whole memory, it held two)", async () => {
  H = makeHarness(quickjsEngine, {}, { memoryBudgetBytes: 48 * MiB });
  const code = await bundle(TRIVIAL);
  // Each call reserves its 24 MiB cap while it runs; the idle ones around it are charged their written pages.
  const refs = ["w-a", "w-b", "w-c", "w-d", "w-e"].map((a) => H!.ref(a, code, { limits: { memoryBytes: 24 * MiB } }));
  for (const r of refs) expect((await H.runtime.fetch(r, req("GET", "/"))).status).toBe(200);
  expect(H.runtime.stats()).toMatchObject({ instances: 5, loads: 5, evictions: 0 });
});
