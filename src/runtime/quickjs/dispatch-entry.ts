/**
 * Worker side: one fetch call into the prelude's dispatch entry in one crossing of the
 * WebAssembly boundary (sandbox/quickjs/cantrip.c CANTRIP_Dispatch; issue 15). Through
 * quickjs-emscripten's handles the same call took ~20 crossings (strings in, the call, the
 * job pump, the promise's state, the pair's two elements, their types, texts and lengths),
 * ~4 µs per call. Here the host writes the metadata and body as UTF-8 into the module's
 * heap, the C entry makes the strings, calls, runs the pending jobs and, when the answer is
 * the usual [metadata text, body text], hands back both texts' UTF-8; anything else comes
 * back as a handle for the host's own reading (instance.ts), exactly as before.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";

/** What CANTRIP_Dispatch gave. */
export type DispatchOutcome =
  /** The [metadata, body] pair's texts: metadata null when it was not a string, body "" for none. */
  | { kind: "answered"; meta: string | null; body: string }
  /** The call threw (an interrupt, out of memory, a broken entry): the exception. */
  | { kind: "threw"; error: QuickJSHandle }
  /**
   * Not the usual pair, or not settled: the call's result for the host to read (a promise
   * still pending or rejected, another shape, bytes, a lone surrogate), and the exception a
   * pending job threw, when one did (the jobs stopped there, as QTS_ExecutePendingJob stops).
   */
  | { kind: "slow"; result: QuickJSHandle; jobError?: QuickJSHandle };

/** The parts of the emscripten module and context this uses (quickjs-emscripten-core 0.32's protected fields, as bytecode.ts reads them). */
interface Raw {
  module: {
    HEAPU8: Uint8Array;
    HEAPU32: Uint32Array;
    _malloc(n: number): number;
    _CANTRIP_Dispatch?(ctx: number, fn: number, thisv: number, backend: number, input: number, metaLen: number, bodyLen: number, hasBody: number, out: number): number;
    _CANTRIP_DispatchDone(ctx: number, out: number): void;
  };
  ctx: { value: number };
  memory: { heapValueHandle(ptr: number): QuickJSHandle };
}

/** CANTRIP_Dispatch's out words (cantrip.c OUT_*). */
const OUT_META = 0, OUT_META_LEN = 1, OUT_BODY = 2, OUT_BODY_LEN = 3, OUT_SLOW = 4, OUT_JOB_ERROR = 5, OUT_WORDS = 6;
const ANSWERED = 0, THREW = 1;

const encoder = new TextEncoder();
/** Keeps a leading U+FEFF: the texts are the guest's strings exactly. */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/** The out words of each module (one per interpreter), made on its first call. */
const outs = new WeakMap<object, number>();
/** Where the inputs are encoded before they are copied into the module's heap (grown as needed; one per thread). */
let scratch = new Uint8Array(4096);

/**
 * fn.call(thisv, backend, meta, text) through CANTRIP_Dispatch (`text` "" passes no body, as
 * the handle path passes undefined). Null when that entry cannot take this call: a build
 * without it, a string that is not well-formed (a lone surrogate: the handle path keeps it
 * exactly), or no heap for the inputs; the caller then takes the handle path. Runs guest code:
 * call it inside the call's slice. The handles it returns are the caller's to dispose.
 */
export function dispatchInOneCrossing(vm: QuickJSContext, fn: QuickJSHandle, thisv: QuickJSHandle, backend: QuickJSHandle, meta: string, text: string): DispatchOutcome | null {
  const raw = vm as unknown as Raw;
  const mod = raw.module;
  if (typeof mod?._CANTRIP_Dispatch !== "function" || !meta.isWellFormed() || !text.isWellFormed()) return null;
  const need = (meta.length + text.length) * 3;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const metaLen = encoder.encodeInto(meta, scratch).written;
  const bodyLen = text === "" ? 0 : encoder.encodeInto(text, scratch.subarray(metaLen)).written;
  let out = outs.get(mod);
  if (out === undefined) {
    out = mod._malloc(OUT_WORDS * 4);
    if (out === 0) return null;
    outs.set(mod, out);
  }
  const input = mod._malloc(metaLen + bodyLen || 1);
  if (input === 0) return null;
  mod.HEAPU8.set(scratch.subarray(0, metaLen + bodyLen), input);
  // The entry frees `input`. The heap views are read again after the call: it may have grown memory.
  const code = mod._CANTRIP_Dispatch(raw.ctx.value, fn.value as number, thisv.value as number, backend.value as number, input, metaLen, bodyLen, text === "" ? 0 : 1, out);
  const words = mod.HEAPU32;
  const at = out >>> 2;
  if (code === ANSWERED) {
    const heap = mod.HEAPU8;
    const m = words[at + OUT_META]!;
    const b = words[at + OUT_BODY]!;
    const answer: DispatchOutcome = {
      kind: "answered",
      meta: m === 0 ? null : decoder.decode(heap.subarray(m, m + words[at + OUT_META_LEN]!)),
      body: b === 0 ? "" : decoder.decode(heap.subarray(b, b + words[at + OUT_BODY_LEN]!)),
    };
    mod._CANTRIP_DispatchDone(raw.ctx.value, out);
    return answer;
  }
  const slow = raw.memory.heapValueHandle(words[at + OUT_SLOW]!);
  if (code === THREW) return { kind: "threw", error: slow };
  const jobError = words[at + OUT_JOB_ERROR]!;
  return { kind: "slow", result: slow, ...(jobError ? { jobError: raw.memory.heapValueHandle(jobError) } : {}) };
}
