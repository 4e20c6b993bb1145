/**
 * Small globals: structuredClone, crypto (randomness from the host), console (captured by
 * the host, size-capped there), setTimeout/clearTimeout (host timers, bounded per call; a
 * timer never fires early and dies with the call it was set in) and queueMicrotask.
 */
import { host } from "./host";

export function structuredClone<T>(value: T, seen = new Map<unknown, unknown>()): T {
  const v = value as any;
  if (v === null || typeof v !== "object") {
    if (typeof v === "function" || typeof v === "symbol") throw new Error("DataCloneError: value could not be cloned");
    return value;
  }
  if (seen.has(v)) return seen.get(v) as T;
  let out: any;
  if (v instanceof Date) out = new Date(v.getTime());
  else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
  else if (v instanceof ArrayBuffer) out = v.slice(0);
  else if (ArrayBuffer.isView(v)) out = new (v.constructor as any)(v as any);
  else if (v instanceof Map) {
    out = new Map();
    seen.set(v, out);
    for (const [k, x] of v) out.set(structuredClone(k, seen), structuredClone(x, seen));
    return out;
  } else if (v instanceof Set) {
    out = new Set();
    seen.set(v, out);
    for (const x of v) out.add(structuredClone(x, seen));
    return out;
  } else if (Array.isArray(v)) {
    out = [];
    seen.set(v, out);
    for (let i = 0; i < v.length; i++) out[i] = structuredClone(v[i], seen);
    return out;
  } else if (v instanceof Error) {
    out = new (v.constructor as any)(v.message);
  } else {
    out = {};
    seen.set(v, out);
    for (const k of Object.keys(v)) out[k] = structuredClone(v[k], seen);
    return out;
  }
  seen.set(v, out);
  return out;
}

export const crypto = {
  getRandomValues<T extends ArrayBufferView | null>(arr: T): T {
    if (!arr || !ArrayBuffer.isView(arr) || arr instanceof Float32Array || arr instanceof Float64Array) throw new TypeError("getRandomValues: expected an integer typed array");
    if (arr.byteLength > 65536) throw new Error("QuotaExceededError: getRandomValues is limited to 65536 bytes");
    new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(new Uint8Array(host.random(arr.byteLength)));
    return arr;
  },
  randomUUID(): string {
    const b = new Uint8Array(host.random(16));
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
};

const MAX_LINE = 16 * 1024;

export function format(args: unknown[]): string {
  const s = args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" ");
  return s.length > MAX_LINE ? `${s.slice(0, MAX_LINE)}… [truncated]` : s;
}

function inspect(v: unknown): string {
  if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}` : `${v.name}: ${v.message}`;
  if (typeof v === "function") return `[Function ${v.name || "anonymous"}]`;
  if (typeof v === "bigint") return `${v}n`;
  if (v === undefined || typeof v === "symbol") return String(v);
  try {
    const seen = new Set<unknown>();
    return JSON.stringify(v, (_k, x) => {
      if (typeof x === "bigint") return `${x}n`;
      if (x && typeof x === "object") {
        if (seen.has(x)) return "[Circular]";
        seen.add(x);
      }
      return x;
    }) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The global console: the host gives its lines to the call whose slice is running. */
export const console = Object.fromEntries(
  (["log", "info", "warn", "error", "debug"] as const).map((level) => [level, (...args: unknown[]) => host.log(level, format(args))]),
) as Record<"log" | "info" | "warn" | "error" | "debug", (...args: unknown[]) => void> & Record<string, unknown>;
console.trace = console.debug;

let nextTimer = 1;
/** Timers whose callback may still run; the host holds the per-call limit and the clock. */
const active = new Set<number>();
// Captured before guest code runs: a cancellation settles with no call running (V8 runs it
// as a small-budget chore), and guest code may patch Set.prototype later.
const apply = Reflect.apply;
const setAdd = Set.prototype.add;
const setDelete = Set.prototype.delete;
const forget = (id: number): boolean => apply(setDelete, active, [id]) as boolean;

export function setTimeout(cb: (...a: unknown[]) => void, ms = 0, ...args: unknown[]): number {
  if (typeof cb !== "function") throw new TypeError("setTimeout: callback must be a function");
  const id = nextTimer++;
  const wait = Number(ms);
  const p = host.timer(id, wait > 0 ? wait : 0);
  apply(setAdd, active, [id]);
  p.then(
    () => {
      if (forget(id)) cb(...args);
    },
    () => forget(id),
  );
  return id;
}

export function clearTimeout(id: number | undefined): void {
  if (typeof id === "number" && forget(id)) host.clearTimer(id);
}

export function queueMicrotask(cb: () => void): void {
  Promise.resolve().then(cb);
}
