/**
 * QuickJS bytecode through cantrip's own entries in its QuickJS build (sandbox/quickjs/cantrip.c,
 * scripts/build-quickjs.sh): a script compiled once is run in other interpreters of the same
 * build without being parsed again. Used for the guest prelude, compiled when the prelude is
 * generated (sandbox/build-prelude.ts) and run in every new interpreter (vm-factory.ts):
 * measured ~7× faster than evaluating its source (issue 15).
 *
 * Bytecode is only ever produced by cantrip from its own source and only read by the build
 * that wrote it (`PRELUDE_BYTECODE.build` names it); QuickJS does not verify bytecode, so
 * bytes from anywhere else must never reach `runBytecode`.
 */
import type { QuickJSContext } from "quickjs-emscripten-core";

/** The sha256 of a QuickJS build's .wasm as scripts/build-quickjs.sh records it in BUILD-INFO, or null when it names none. */
export function quickjsBuildId(buildInfo: string): string | null {
  return /^([0-9a-f]{64})  emscripten-module\.wasm$/m.exec(buildInfo)?.[1] ?? null;
}

/** The parts of the emscripten module (quickjs-emscripten-core 0.32's QuickJSContext.module) used here. */
interface RawModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _CANTRIP_CompileScript(ctx: number, code: number, len: number, filename: number, outLen: number, strip: number): number;
  _CANTRIP_RunScript(ctx: number, buf: number, len: number): number;
  _CANTRIP_HeapTop(): number;
}

/** The context's emscripten module and JSContext pointer (protected fields of QuickJSContext 0.32, pinned). */
function raw(vm: QuickJSContext): { mod: RawModule; ctx: number } {
  const v = vm as unknown as { module: RawModule; ctx: { value: number } };
  if (typeof v.module?._CANTRIP_RunScript !== "function") throw new Error("this QuickJS build has no bytecode entries (scripts/build-quickjs.sh)");
  return { mod: v.module, ctx: v.ctx.value };
}

/** Copies `bytes` (+ a NUL when `cString`) into the module's heap; the caller frees the pointer. */
function copyIn(mod: RawModule, bytes: Uint8Array, cString = false): number {
  const p = mod._malloc(bytes.length + (cString ? 1 : 0));
  if (p === 0) throw new Error("QuickJS: out of memory copying bytecode in");
  mod.HEAPU8.set(bytes, p);
  if (cString) mod.HEAPU8[p + bytes.length] = 0;
  return p;
}

/** QuickJS's JS_STRIP_SOURCE (quickjs.h): compiled functions keep no copy of their source text. */
const STRIP_SOURCE = 1;

/**
 * How the guest prelude is compiled (sandbox/build-prelude.ts, and vm-factory.ts when it has
 * no matching bytecode): without source text. Every interpreter carried a copy of each
 * prelude function's text, nested functions again inside their parents' (issue 15: memory
 * per loaded backend); the prelude is platform code, so `toString` answering "[native code]"
 * is what a guest sees of a built-in anywhere else.
 */
export const PRELUDE_COMPILE: { readonly stripSource: boolean } = { stripSource: true };

/**
 * The bytecode of global script `code` (named `filename` in stack traces), compiled in `vm`
 * without running it. Throws when it does not compile (evaluate the source for the error).
 * `stripSource`: its functions carry no copy of their source text (QuickJS keeps one per
 * function, nested ones included, for Function.prototype.toString, which then answers
 * `function name() { [native code] }` as for a built-in); line numbers stay.
 */
export function compileScript(vm: QuickJSContext, code: string, filename: string, opts: { stripSource?: boolean } = {}): Uint8Array {
  const { mod, ctx } = raw(vm);
  const enc = new TextEncoder();
  const src = enc.encode(code);
  const codeP = copyIn(mod, src, true);
  const nameP = copyIn(mod, enc.encode(filename), true);
  const lenP = mod._malloc(4);
  try {
    const out = mod._CANTRIP_CompileScript(ctx, codeP, src.length, nameP, lenP, opts.stripSource ? STRIP_SOURCE : 0);
    if (out === 0) throw new Error(`QuickJS: ${filename} does not compile`);
    const n = new DataView(mod.HEAPU8.buffer).getUint32(lenP, true);
    const bytes = mod.HEAPU8.slice(out, out + n);
    mod._free(out);
    return bytes;
  } finally {
    mod._free(codeP);
    mod._free(nameP);
    mod._free(lenP);
  }
}

/**
 * Runs bytecode `compileScript` made with this same build in `vm`'s global scope. Returns
 * false when it threw (the exception is cleared: evaluate the source for the error, or drop
 * the interpreter; what the script did before it threw stays done).
 */
export function runBytecode(vm: QuickJSContext, bytes: Uint8Array): boolean {
  const { mod, ctx } = raw(vm);
  const p = copyIn(mod, bytes);
  try {
    return mod._CANTRIP_RunScript(ctx, p, bytes.length) === 0;
  } finally {
    mod._free(p);
  }
}

/**
 * The top of the interpreter's allocator heap (`CANTRIP_HeapTop`, sbrk(0)), in bytes from the
 * start of its WebAssembly memory: static data, C stack and heap all lie below it, so it bounds
 * the pages the interpreter has written (what it holds resident). Throws for a build without
 * cantrip's entries.
 */
export function heapTop(vm: QuickJSContext): number {
  const { mod } = raw(vm);
  return mod._CANTRIP_HeapTop() >>> 0;
}
