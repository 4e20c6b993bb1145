import { test } from "bun:test";
import { quickjsEngine } from "../src/runtime";
import { bundle, failureOf, json, makeHarness, req } from "../test/runtime/harness";
import { EVAL } from "../test/runtime/contract/fixtures";
test("probe", async () => {
  const H = makeHarness(quickjsEngine);
  const code = await bundle(EVAL);
  const ref = H.ref("c", code, { limits: { cpuMs: 3000, wallMs: 20000 } });
  let t0 = performance.now();
  console.log(await H.runtime.fetch(ref, req("POST", "/eval", { code: "const a = new Float64Array(5e6); for (let i=0;i<a.length;i++) a[i]=(i*7919)%1000003; return 1" })).then(json), performance.now() - t0);
  t0 = performance.now();
  console.log(await H.runtime.fetch(ref, req("POST", "/eval", { code: "const a = new Float64Array(5e6); for (let i=0;i<a.length;i++) a[i]=Math.random(); const t=Date.now(); a.sort(); return Date.now()-t" })).then(json, (e) => e.message), performance.now() - t0);
  // big bundle
  const parts: string[] = [];
  for (let i = 0; i < 6000; i++) parts.push(`export function f${i}(a, b) { const x = [a, b, ${i}, "s${i}"]; if (a > b) { return x.map((v) => String(v) + "-${i}").join(","); } return { a, b, i: ${i}, s: "str${i}" }; }`);
  const src = `import { defineBackend } from "cantrip";\n${parts.join("\n")}\nexport default defineBackend({ routes: { "GET /": () => ({ ok: f1(1,2) }) } });`;
  const big = await bundle(src);
  console.log("big bytes", big.length);
  for (const cpu of [1000]) {
    t0 = performance.now();
    console.log(await H.runtime.check(H.ref("big", big, { limits: { cpuMs: cpu } })).then(() => "ok", (e) => e.message), performance.now() - t0);
  }
  await H.close();
}, 60000);
