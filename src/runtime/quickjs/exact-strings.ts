/**
 * Worker side: strings across the QuickJS boundary, exactly. quickjs-emscripten's
 * `newString`/`getString` pass C strings (`JS_NewString` takes a NUL-terminated pointer,
 * `JS_ToCString` is read back up to the first NUL and through a UTF-8 decoder), so
 * "a\0b" arrived as "a" and a lone surrogate as three U+FFFD. Here the common case keeps
 * the fast C-string path, and any string that would not survive it crosses as a JSON
 * string literal instead (JSON escapes U+0000 and lone surrogates as `\uXXXX`, so the
 * literal is plain text both engines read back exactly), through the guest's own
 * JSON.parse/JSON.stringify captured before any guest code ran.
 *
 * Policy: strings cross as UTF-16 code units, unchanged — U+0000 and lone surrogates
 * included. Only a conversion to bytes (TextEncoder, a string body sent as UTF-8) replaces
 * a lone surrogate with U+FFFD, as WHATWG's USVString conversion does.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";

interface JsonFns {
  parse: QuickJSHandle;
  stringify: QuickJSHandle;
}

const fns = new WeakMap<QuickJSContext, JsonFns>();

/** Captures the guest's pristine JSON.parse/stringify; call once per context, before any guest code. */
export function captureJson(vm: QuickJSContext): void {
  const json = vm.getProp(vm.global, "JSON");
  fns.set(vm, { parse: vm.getProp(json, "parse"), stringify: vm.getProp(json, "stringify") });
  json.dispose();
}

function json(vm: QuickJSContext): JsonFns {
  const f = fns.get(vm);
  if (!f) throw new Error("exact strings: JSON functions not captured for this context");
  return f;
}

/** A guest string handle holding exactly `s` (U+0000 and lone surrogates included). */
export function newStringExact(vm: QuickJSContext, s: string): QuickJSHandle {
  if (s.indexOf("\0") < 0 && s.isWellFormed()) return vm.newString(s);
  const lit = vm.newString(JSON.stringify(s));
  try {
    return vm.unwrapResult(vm.callFunction(json(vm).parse, vm.undefined, lit));
  } finally {
    lit.dispose();
  }
}

/**
 * The exact value of a guest string handle (U+0000 and lone surrogates included). Always a
 * string: a handle that is not one (a guest that replaced what makes the text the host is
 * handed, e.g. JSON.stringify) gives its ToString as the C-string read made it.
 */
export function getStringExact(vm: QuickJSContext, h: QuickJSHandle): string {
  const s = vm.getString(h);
  // A NUL shortens the C string; a lone surrogate comes back as U+FFFDs: either way the
  // fast result is wrong only when it has a U+FFFD or a length other than the guest's.
  if (s.indexOf("\uFFFD") < 0) {
    const lh = vm.getProp(h, "length");
    const n = vm.getNumber(lh);
    lh.dispose();
    if (n === s.length) return s;
  }
  // Not a string: the JSON below would be its object's, parsed into a host object that every
  // caller takes for text (a host request's arguments went to the main thread that way, which
  // deserialized all of it before refusing it: ~0.5 s of its event loop for 2M empty arrays).
  if (vm.typeof(h) !== "string") return s;
  const lit = vm.unwrapResult(vm.callFunction(json(vm).stringify, vm.undefined, h));
  try {
    return JSON.parse(vm.getString(lit)) as string;
  } finally {
    lit.dispose();
  }
}
