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
/**
 * Where the inputs are encoded before they are copied into the module's heap (one per
 * thread). It grows to at most SCRATCH_MAX bytes: a larger call encodes into a buffer of its
 * own, which goes with it — a worker does not keep 3× the largest body it ever saw (up to
 * the operator's body limit, 256 MiB) for its whole life, charged to no one.
 */
let scratch = new Uint8Array(4096);
/** Largest scratch kept between calls: 3 bytes per UTF-16 code unit of a 64 Ki-unit request. */
const SCRATCH_MAX = 3 * 64 * 1024;

/** Bytes the encoding scratch holds between calls (for tests: it stays within SCRATCH_MAX). */
export const scratchBytes = (): number => scratch.length;

/** The UTF-8 of meta and text: views of the scratch for a small call, buffers of their own for a large one. */
function encodeInputs(meta: string, text: string): [Uint8Array, Uint8Array] {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair's 4 bytes are 2 units).
  const need = (meta.length + text.length) * 3;
  if (need > SCRATCH_MAX) return [encoder.encode(meta), encoder.encode(text)];
  if (scratch.length < need) scratch = new Uint8Array(Math.min(Math.max(need, scratch.length * 2), SCRATCH_MAX));
  const metaLen = encoder.encodeInto(meta, scratch).written;
  const bodyLen = text === "" ? 0 : encoder.encodeInto(text, scratch.subarray(metaLen)).written;
  return [scratch.subarray(0, metaLen), scratch.subarray(metaLen, metaLen + bodyLen)];
}

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
  const [metaBytes, bodyBytes] = encodeInputs(meta, text);
  const metaLen = metaBytes.length;
  const bodyLen = bodyBytes.length;
  let out = outs.get(mod);
  if (out === undefined) {
    out = mod._malloc(OUT_WORDS * 4);
    if (out === 0) return null;
    outs.set(mod, out);
  }
  const input = mod._malloc(metaLen + bodyLen || 1);
  if (input === 0) return null;
  const heapIn = mod.HEAPU8;
  heapIn.set(metaBytes, input);
  heapIn.set(bodyBytes, input + metaLen);
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
