/**
 * What the guest prelude costs per spare interpreter, against a same-run baseline: the
 * time to create a runtime + context and evaluate the prelude, the QuickJS heap it leaves
 * (memory_used_size from JS_ComputeMemoryUsage) — medians of 9 fresh interpreters — and
 * the host RSS per interpreter when each has its own WebAssembly memory, as in the sandbox
 * (RSS delta over 40 of them; compiling touches pages a wasm memory never gives back).
 * This checkout's prelude is measured twice: evaluated from source, and run from the bytecode
 * vm-factory.ts uses (sandbox/dist/prelude.qjsbc, issue 15). Last, the marginal cost of one
 * more interpreter made by vm-factory.ts with a trivial bundle, split into the WebAssembly pages
 * it wrote, the JavaScript heap and native memory (issue 15, memory per loaded backend).
 * Usage: bun bench/prelude.ts [baseline prelude.gen.ts] (default: this checkout's only).
 */
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext } from "quickjs-emscripten-core";
import { variant, wasmPath } from "../src/runtime/quickjs/wasm-build";
import { PRELUDE_BYTECODE, PRELUDE_PARTS } from "../sandbox/dist/prelude.gen";
import { preludeBytecodePath } from "../sandbox/build-prelude";
import { runBytecode } from "../src/runtime/quickjs/bytecode";
import { createVm, setWasmModule } from "../src/runtime/quickjs/vm-factory";
import { heapStats } from "bun:jsc";

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

// What one more interpreter costs as the sandbox makes it (vm-factory.ts createVm: the prelude
// from bytecode, then a trivial bundle), split by where it lives: the WebAssembly pages it
// wrote (a page never written is not resident), the JavaScript heap (its emscripten module
// and FFI wrappers) and the rest (JavaScriptCore's native side: the WebAssembly.Instance, the
// allocators). Interpreters 51–150 of one thread, so the thread's own warm-up is not in it.
setWasmModule(wasmModule);
const written = (buf: ArrayBuffer) => {
  const words = new Uint32Array(buf);
  let pages = 0;
  for (let p = 0; p < words.length; p += 1024) {
    for (let i = p; i < p + 1024; i++) {
      if (words[i]) {
        pages++;
        break;
      }
    }
  }
  return pages * 4096;
};
const jsHeap = () => {
  const h = heapStats();
  return h.heapSize - h.extraMemorySize;
};
const held: unknown[] = [];
const marks: { rss: number; pages: number; js: number }[] = [];
let pagesSoFar = 0;
for (let i = 1; i <= 150; i++) {
  const v = await createVm(64 * 1024 * 1024);
  v.vm.unwrapResult(v.vm.evalCode(`import { defineBackend } from "cantrip"; export default defineBackend({ routes: { "POST /": (input) => ({ echo: input, n: ${i} }) } });`, `b${i}.js`, { type: "module" })).dispose();
  v.rt.executePendingJobs(-1);
  held.push(v);
  pagesSoFar += written(v.memory.buffer);
  if (i === 50 || i === 150) {
    Bun.gc(true);
    await Bun.sleep(300);
    marks.push({ rss: process.memoryUsage().rss, pages: pagesSoFar, js: jsHeap() });
  }
}
const [m50, m150] = marks as [(typeof marks)[0], (typeof marks)[0]];
const kb = (bytes: number) => `${(bytes / 100 / 1024).toFixed(0)} KB`;
console.log(
  `one more interpreter as the sandbox makes it (prelude + trivial bundle; 51–150 in one thread): RSS ${kb(m150.rss - m50.rss)} = WebAssembly pages written ${kb(m150.pages - m50.pages)} + JS heap ${kb(m150.js - m50.js)} + native ${kb(m150.rss - m50.rss - (m150.pages - m50.pages) - (m150.js - m50.js))}`,
);
