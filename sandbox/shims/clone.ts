/**
 * structuredClone per the HTML standard's StructuredSerialize/Deserialize
 * (https://html.spec.whatwg.org/#safe-passing-of-structured-data), in one step: primitives
 * (Symbol → DataCloneError), Boolean/Number/BigInt/String wrappers, Date, RegExp,
 * ArrayBuffer (shared identity kept across views), typed arrays and DataView, Map, Set,
 * Error kinds (name, message, stack, cause), Blob/File, DOMException, arrays (own
 * enumerable string keys incl. holes), plain objects (own enumerable string keys; getters
 * run, prototype dropped); cycles and shared references preserved. Functions, WeakMap,
 * Promise, other platform objects → DataCloneError. `options.transfer` takes ArrayBuffers (duplicates or
 * other objects → DataCloneError); they are copied, then detached in the source.
 */
import { Blob, File } from "./blob";
import { DOMException } from "./events";

const ERRORS: Record<string, ErrorConstructor> = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
const fail = (what: string) => new DOMException(`${what} could not be cloned.`, "DataCloneError");
const tag = (v: object) => Object.prototype.toString.call(v).slice(8, -1);

export function structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T {
  if (arguments.length < 1) throw new TypeError("structuredClone: 1 argument required");
  if (options !== undefined && options !== null && typeof options !== "object") throw new TypeError("structuredClone: options must be an object");
  const transfer = options?.transfer;
  const list = transfer === undefined ? [] : [...(transfer as Iterable<unknown>)];
  if (new Set(list).size !== list.length) throw new DOMException("The transfer list has duplicates.", "DataCloneError");
  for (const t of list) {
    if (!(t instanceof ArrayBuffer)) throw new DOMException("Only ArrayBuffers can be transferred.", "DataCloneError");
    if ((t as { detached?: boolean }).detached) throw new DOMException("A detached ArrayBuffer cannot be transferred.", "DataCloneError");
  }
  const out = clone(value, new Map()) as T;
  // Transferred buffers are detached in the source, where the engine can detach one.
  for (const b of list as (ArrayBuffer & { transfer?: () => ArrayBuffer })[]) if (typeof b.transfer === "function") b.transfer();
  return out;
}

function clone(v: unknown, memory: Map<object, unknown>): unknown {
  if (typeof v === "symbol") throw fail("A Symbol");
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return v;
  if (typeof v === "function") throw fail(`The function ${(v as { name?: string }).name || "(anonymous)"}`);
  const o = v as object;
  if (memory.has(o)) return memory.get(o);
  const t = tag(o);
  let out: any;
  if (o instanceof Boolean) out = Object(Boolean.prototype.valueOf.call(o));
  else if (o instanceof Number) out = Object(Number.prototype.valueOf.call(o));
  else if (typeof BigInt === "function" && t === "BigInt") out = Object(BigInt.prototype.valueOf.call(o));
  else if (o instanceof String) out = Object(String.prototype.valueOf.call(o));
  else if (o instanceof Date) out = new Date(o.getTime());
  else if (o instanceof RegExp) out = new RegExp(o.source, o.flags);
  else if (o instanceof ArrayBuffer) {
    if ((o as { detached?: boolean }).detached) throw fail("A detached ArrayBuffer");
    out = o.slice(0);
  }
  else if (ArrayBuffer.isView(o)) {
    const buf = clone(o.buffer, memory) as ArrayBuffer;
    const C = o.constructor as new (b: ArrayBuffer, off: number, len?: number) => ArrayBufferView;
    out = o instanceof DataView ? new DataView(buf, o.byteOffset, o.byteLength) : new C(buf, o.byteOffset, (o as unknown as { length: number }).length);
  } else if (o instanceof Map) {
    out = new Map();
    memory.set(o, out);
    for (const [k, x] of [...o]) out.set(clone(k, memory), clone(x, memory));
    return out;
  } else if (o instanceof Set) {
    out = new Set();
    memory.set(o, out);
    for (const x of [...o]) out.add(clone(x, memory));
    return out;
  } else if (o instanceof DOMException) out = new DOMException(o.message, o.name);
  else if (o instanceof Error) {
    const name = String((o as Error).name);
    const C = Object.prototype.hasOwnProperty.call(ERRORS, name) ? ERRORS[name]! : Error;
    const desc = Object.getOwnPropertyDescriptor(o, "message");
    out = desc ? new C(String(desc.value ?? (o as Error).message)) : new C();
    const stack = (o as Error).stack;
    if (typeof stack === "string") Object.defineProperty(out, "stack", { value: stack, writable: true, configurable: true });
    memory.set(o, out);
    if ("cause" in o) out.cause = clone((o as { cause: unknown }).cause, memory);
    return out;
  } else if (o instanceof File) out = new File([o], o.name, { type: o.type, lastModified: o.lastModified });
  else if (o instanceof Blob) out = new Blob([o], { type: o.type });
  else if (Array.isArray(o)) {
    out = new Array(o.length);
    memory.set(o, out);
    for (const k of Object.keys(o)) out[k] = clone((o as unknown as Record<string, unknown>)[k], memory);
    return out;
  } else if (t === "Object" || t === "Arguments" || Object.getPrototypeOf(o) === null || isPlainish(o)) {
    out = {};
    memory.set(o, out);
    for (const k of Object.keys(o)) out[k] = clone((o as Record<string, unknown>)[k], memory);
    return out;
  } else throw fail(`An object of type ${t}`);
  memory.set(o, out);
  return out;
}

/** Class instances without internal slots serialize as plain objects (own enumerable keys). */
function isPlainish(o: object): boolean {
  if (o instanceof Promise || o instanceof WeakMap || o instanceof WeakSet || (typeof WeakRef === "function" && o instanceof WeakRef)) return false;
  const t = tag(o);
  return !["Promise", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Generator", "AsyncGenerator", "Module", "Proxy"].includes(t) && !(Symbol.toStringTag in o && t !== "Object");
}
