/**
 * Small globals: console (captured by the host, size-capped there), setTimeout/clearTimeout
 * (host timers, bounded per call; a timer never fires early and dies with the call it was
 * set in) and queueMicrotask.
 */
import { host } from "./host";

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
