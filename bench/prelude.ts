/**
 * What the guest prelude costs per spare interpreter, against a same-run baseline: the
 * time to create a runtime + context and evaluate the prelude, and the QuickJS heap it
 * leaves (memory_used_size from JS_ComputeMemoryUsage) — medians of 9 fresh interpreters.
 * Usage: bun bench/prelude.ts [baseline prelude.gen.ts] (default: this checkout's only).
 */
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-wasmfile-release-sync";
import wasmPath from "@jitl/quickjs-wasmfile-release-sync/wasm" with { type: "file" };
import { PRELUDE } from "../sandbox/dist/prelude.gen";

const med = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1]!;
const qjs = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule: new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()) }));

function cost(code: string): { ms: number; heap: number } {
  const ms: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = performance.now();
    const rt = qjs.newRuntime();
    const c = rt.newContext();
    c.setProp(c.global, "__cantripHost", c.newObject());
    const r = c.evalCode(code, "prelude.js", { type: "global" });
    ms.push(performance.now() - t);
    if (r.error) throw new Error(JSON.stringify(c.dump(r.error)));
    r.value.dispose();
    const empty = qjs.newRuntime().newContext();
    const usage = (ctx: typeof c) => (ctx.runtime.computeMemoryUsage().consume((u) => ctx.dump(u)) as { memory_used_size: number }).memory_used_size;
    heap.push(usage(c) - usage(empty));
    // Not disposed: the prelude's globals hold handles by design; the process exits soon.
  }
  return { ms: med(ms), heap: med(heap) };
}

const rows: [string, string][] = [["this checkout", PRELUDE]];
if (process.argv[2]) rows.unshift(["baseline", (await import(process.argv[2])).PRELUDE]);
for (const [name, code] of rows) {
  const c = cost(code);
  console.log(`${name.padEnd(14)} prelude ${(code.length / 1024).toFixed(0).padStart(4)} KB   spare creation + prelude ${c.ms.toFixed(2).padStart(6)} ms   heap over an empty context ${(c.heap / 1024).toFixed(0).padStart(5)} KB`);
}
