/**
 * What an idle QuickJS instance is charged against the sandbox memory budget: the memory its
 * interpreter has written (the highest heap top seen, instance.ts residentBytes), not its
 * whole WebAssembly memory (16 MiB at least, most of it never touched) — so a budget holds
 * as many idle backends as their real size allows, and an instance that once wrote a lot
 * stays charged for it (written pages stay resident).
 */
import { afterEach, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime";
import { EVAL } from "./contract/fixtures";
import { bundle, json, makeHarness, req, type Harness } from "./harness";

const MiB = 1024 * 1024;
const TRIVIAL = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": () => ({ ok: true }) } });`;

let H: Harness | undefined;
afterEach(async () => {
  await H?.close();
  H = undefined;
});

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
