/**
 * What the guest prelude costs per spare interpreter, against a same-run baseline: the
 * time to create a runtime + context and evaluate the prelude, the QuickJS heap it leaves
 * (memory_used_size from JS_ComputeMemoryUsage) — medians of 9 fresh interpreters — and
 * the host RSS per interpreter when each has its own WebAssembly memory, as in the sandbox
 * (RSS delta over 40 of them; compiling touches pages a wasm memory never gives back).
 * This checkout's prelude is measured twice: evaluated from source, and run from the bytecode
 * vm-factory.ts uses (sandbox/dist/prelude.qjsbc, issue 15).
 * Usage: bun bench/prelude.ts [baseline prelude.gen.ts] (default: this checkout's only).
 */
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext } from "quickjs-emscripten-core";
import { variant, wasmPath } from "../src/runtime/quickjs/wasm-build";
import { PRELUDE_BYTECODE, PRELUDE_PARTS } from "../sandbox/dist/prelude.gen";
import { preludeBytecodePath } from "../sandbox/build-prelude";
import { runBytecode } from "../src/runtime/quickjs/bytecode";

const med = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1]!;
const wasmModule = new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer());
const qjs = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule }));

const bytecode = await Bun.file(preludeBytecodePath).bytes();
/** A prelude to put into an interpreter: its source parts, or "bytecode" (this checkout's, compiled). */
type Prelude = readonly string[] | "bytecode";

function evaluate(c: QuickJSContext, prelude: Prelude): void {
  if (prelude === "bytecode") {
    for (const [off, len] of PRELUDE_BYTECODE.parts) if (!runBytecode(c, bytecode.subarray(off, off + len))) throw new Error("the prelude's bytecode threw");
    return;
  }
  for (const code of prelude) {
    const r = c.evalCode(code, "prelude.js", { type: "global" });
    if (r.error) throw new Error(JSON.stringify(c.dump(r.error)));
    r.value.dispose();
  }
}

/** Host RSS per interpreter, each in its own capped WebAssembly.Memory (as vm-factory.ts makes them). */
async function rssPerInterpreter(parts: Prelude, n = 40): Promise<number> {
  const keep: unknown[] = [];
  Bun.gc(true);
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < n; i++) {
    const wasmMemory = new WebAssembly.Memory({ initial: 256, maximum: 1024 });
    const c = (await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, wasmMemory }))).newContext();
    c.setProp(c.global, "__cantripHost", c.newObject());
    evaluate(c, parts);
    keep.push(c);
  }
  Bun.gc(true);
  return (process.memoryUsage().rss - rss0) / n;
}

function cost(parts: Prelude): { ms: number; heap: number } {
  const ms: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = performance.now();
    const rt = qjs.newRuntime();
    const c = rt.newContext();
    c.setProp(c.global, "__cantripHost", c.newObject());
    evaluate(c, parts);
    ms.push(performance.now() - t);
    const empty = qjs.newRuntime().newContext();
    const usage = (ctx: typeof c) => (ctx.runtime.computeMemoryUsage().consume((u) => ctx.dump(u)) as { memory_used_size: number }).memory_used_size;
    heap.push(usage(c) - usage(empty));
    // Not disposed: the prelude's globals hold handles by design; the process exits soon.
  }
  return { ms: med(ms), heap: med(heap) };
}

// A baseline file from before the prelude came in parts has only PRELUDE.
const partsOf = (m: { PRELUDE_PARTS?: readonly string[]; PRELUDE: string }) => m.PRELUDE_PARTS ?? [m.PRELUDE];
const rows: [string, Prelude][] = [["this checkout", PRELUDE_PARTS], ["  from bytecode", "bytecode"]];
if (process.argv[2]) rows.unshift(["baseline", partsOf(await import(process.argv[2]))]);
// Warm-up (the first interpreters a process makes also grow its own heaps), then measure.
for (const [, parts] of rows) await rssPerInterpreter(parts, 10);
for (const [name, parts] of rows) {
  const c = cost(parts);
  const size = parts === "bytecode" ? bytecode.length : parts.reduce((n, p) => n + p.length, 0);
  const rss = await rssPerInterpreter(parts);
  console.log(`${name.padEnd(14)} prelude ${(size / 1024).toFixed(0).padStart(4)} KB   spare creation + prelude ${c.ms.toFixed(2).padStart(6)} ms   heap over an empty context ${(c.heap / 1024).toFixed(0).padStart(5)} KB   host RSS per interpreter ${(rss / 1024).toFixed(0).padStart(5)} KB`);
}
