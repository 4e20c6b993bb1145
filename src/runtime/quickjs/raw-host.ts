/**
 * Worker side: host functions the guest calls on its hot path (kv), called without
 * quickjs-emscripten's per-call machinery (issue 15). A function made with `newFunction` is
 * entered through a generator, a Scope and a handle object per argument, all disposed after;
 * under load that path stayed in JavaScriptCore's baseline tier for tens of thousands of calls
 * (its Scope.dispose was re-optimized and thrown away again and again), which made a call that
 * reads kv in the worker cost ~57 µs against ~28 µs once it settled. A raw function reads its
 * arguments straight from the interpreter's memory and returns a value pointer, as
 * quickjs-emscripten's own trampoline does at its end (interface.c qts_call_function frees
 * the pointer and keeps the value).
 *
 * Built on quickjs-emscripten-core 0.32's protected fields (its context's `ffi`, `module`,
 * `memory` and `cToHostCallbacks`), as dispatch-entry.ts and bytecode.ts are; the version is
 * pinned, and test/runtime/raw-host.test.ts checks the functions against the handle path.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { getStringExact, newStringExact } from "./exact-strings";

/** The parts of a context this reads (quickjs-emscripten-core 0.32). */
interface RawContext {
  ffi: {
    QTS_ArgvGetJSValueConstPointer(argv: number, index: number): number;
    QTS_GetString(ctx: number, value: number): number;
    QTS_FreeCString(ctx: number, str: number): void;
    QTS_GetFloat64(ctx: number, value: number): number;
    QTS_NewString(ctx: number, str: number): number;
    QTS_NewFloat64(ctx: number, n: number): number;
    QTS_DupValuePointer(ctx: number, value: number): number;
    QTS_Throw(ctx: number, error: number): number;
  };
  module: { UTF8ToString(ptr: number): string; stringToUTF8(s: string, ptr: number, max: number): void; lengthBytesUTF8(s: string): number; _malloc(n: number): number; _free(ptr: number): void };
  ctx: { value: number };
  memory: { heapValueHandle(ptr: number): QuickJSHandle };
  cToHostCallbacks: { callFunction(ctx: number, thisPtr: number, argc: number, argv: number, fnId: number): number };
  getFunction(fnId: number): unknown;
  errorToHandle(error: unknown): QuickJSHandle;
}

/** A raw function's arguments, read on demand. */
export interface RawArgs {
  readonly count: number;
  /**
   * Argument `i` as a string, exactly (exact-strings.ts): read fast through JS_ToCString, and
   * again through a handle when that read was not exact — a U+0000 ends the C string early and
   * a lone surrogate comes back as U+FFFD — which the fast text shows by a length other than
   * `units` (the guest's length of it) or a U+FFFD. Without `units` only the second is seen:
   * for text the host's own code wrote (the prelude's literals). Undefined for an argument the
   * guest did not pass.
   */
  text(i: number, units?: number): string | undefined;
  /** Argument `i` as a number, or undefined when it is not one (ToNumber gave NaN: the prelude passes a number or nothing). */
  number(i: number): number | undefined;
  /** Argument `i` as a new handle (the caller disposes it). */
  handle(i: number): QuickJSHandle;
}

/** What a raw function returns: a string, a number, or undefined. */
export type RawResult = string | number | undefined;

const RAW = Symbol("cantrip.rawHost");

/**
 * A host function whose calls take the raw path (a new handle; the caller disposes it):
 * `fn(args)` gets its arguments as RawArgs and returns a string (made exactly: one with U+0000
 * or a lone surrogate goes through exact-strings.ts newStringExact), a number or undefined; a
 * throw becomes the guest's exception, as with newFunction.
 */
export function newRawFunction(vm: QuickJSContext, name: string, fn: (args: RawArgs) => RawResult): QuickJSHandle {
  hookCalls(vm);
  // Made by newFunction (its name, length and host reference), entered by the hook below.
  const marker = Object.assign(() => undefined, { [RAW]: fn });
  return vm.newFunction(name, marker);
}

const hooked = new WeakSet<object>();

/** Routes the context's host-function calls: raw functions straight to their handler, the rest to quickjs-emscripten's own path. */
function hookCalls(vm: QuickJSContext): void {
  const raw = vm as unknown as RawContext;
  const callbacks = raw.cToHostCallbacks;
  if (hooked.has(callbacks)) return;
  hooked.add(callbacks);
  const handled = callbacks.callFunction;
  const { ffi, module, ctx } = raw;
  let argv = 0;
  let argc = 0;
  const arg = (i: number) => ffi.QTS_ArgvGetJSValueConstPointer(argv, i);
  const args: RawArgs = {
    get count() {
      return argc;
    },
    text(i, units) {
      if (i >= argc) return undefined;
      const p = ffi.QTS_GetString(ctx.value, arg(i));
      if (p === 0) throw new Error("the argument is not a string");
      let s: string;
      try {
        s = module.UTF8ToString(p);
      } finally {
        ffi.QTS_FreeCString(ctx.value, p);
      }
      if ((units === undefined || s.length === units) && s.indexOf("\uFFFD") < 0) return s;
      const h = this.handle(i);
      try {
        return getStringExact(vm, h);
      } finally {
        h.dispose();
      }
    },
    number(i) {
      if (i >= argc) return undefined;
      const n = ffi.QTS_GetFloat64(ctx.value, arg(i));
      return Number.isNaN(n) ? undefined : n;
    },
    handle(i) {
      if (i >= argc) throw new RangeError(`host function argument ${i} of ${argc}`);
      return raw.memory.heapValueHandle(ffi.QTS_DupValuePointer(ctx.value, arg(i)));
    },
  };
  /** A pointer the interpreter's malloc gave (0: it failed, and would reach the guest as undefined). */
  const made = (ptr: number) => {
    if (ptr === 0) throw new Error("out of memory");
    return ptr;
  };
  callbacks.callFunction = (c, thisPtr, n, v, fnId) => {
    const fn = (raw.getFunction(fnId) as { [RAW]?: (a: RawArgs) => RawResult })[RAW];
    if (!fn) return handled(c, thisPtr, n, v, fnId);
    const outerArgv = argv;
    const outerArgc = argc;
    argv = v;
    argc = n;
    try {
      const r = fn(args);
      if (r === undefined) return 0;
      if (typeof r === "number") return made(ffi.QTS_NewFloat64(ctx.value, r));
      if (r.indexOf("\0") >= 0 || !r.isWellFormed()) {
        const h = newStringExact(vm, r);
        try {
          return ffi.QTS_DupValuePointer(ctx.value, h.value as number);
        } finally {
          h.dispose();
        }
      }
      const bytes = module.lengthBytesUTF8(r) + 1;
      const p = made(module._malloc(bytes));
      try {
        module.stringToUTF8(r, p, bytes);
        return made(ffi.QTS_NewString(ctx.value, p));
      } finally {
        module._free(p);
      }
    } catch (e) {
      const err = raw.errorToHandle(e);
      try {
        return ffi.QTS_Throw(ctx.value, err.value as number);
      } finally {
        err.dispose();
      }
    } finally {
      argv = outerArgv;
      argc = outerArgc;
    }
  };
}
