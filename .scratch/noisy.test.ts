import { test } from "bun:test";
import { quickjsEngine } from "../src/runtime";
import { bundle, makeHarness, req } from "../test/runtime/harness";
const BURN = `
import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /burn": { input: t.Object({ ms: t.Number() }), handle: ({ ms }) => { const t0 = Date.now(); let n = 0; while (Date.now() - t0 < ms) n++; return { n }; } },
  "POST /": { input: t.Object({ n: t.Number() }), handle: async ({ n }, ctx) => { const seen = ((await ctx.kv.get("seen")) ?? 0) + 1; await ctx.kv.set("seen", seen); return { seen }; } },
} });`;
test("noisy", async () => {
  const H = makeHarness(quickjsEngine);
  const code = await bundle(BURN);
  const heavy = H.ref("noisy", code, { limits: { cpuMs: 1000, wallMs: 10_000 } });
  const light = H.ref("quiet", code, { limits: { cpuMs: 1000, wallMs: 10_000 } });
  for (let i = 0; i < 50; i++) await H.runtime.fetch(light, req("POST", "/", { n: 1 }));
  let stop = false;
  const hogs = Array.from({ length: 48 }, async () => { while (!stop) { try { await H.runtime.fetch(heavy, req("POST", "/burn", { ms: 950 })); } catch (e) { await Bun.sleep(100); } } });
  await Bun.sleep(2000);
  const lat: number[] = [];
  const end = performance.now() + 4000;
  while (performance.now() < end) {
    const t0 = performance.now();
    const r = await H.runtime.fetch(light, req("POST", "/", { n: 1 }));
    lat.push(performance.now() - t0);
    if (lat.length % 50 === 1) console.log("light", lat.at(-1)!.toFixed(1), r.cpuMs.toFixed(2), JSON.stringify(H.runtime.stats().lanes));
  }
  stop = true;
  await Promise.all(hogs);
  lat.sort((a, b) => a - b);
  console.log("n", lat.length, "p50", lat[Math.floor(lat.length / 2)], "p99", lat[Math.floor(lat.length * 0.99)]);
  await H.close();
}, 60000);
