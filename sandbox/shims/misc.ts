/**
 * Small globals: console (captured by
 * the host, size-capped there), setTimeout/clearTimeout (host timers; a call's timers die
 * with its wall-clock deadline) and queueMicrotask.
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

export const console = Object.fromEntries(
  (["log", "info", "warn", "error", "debug"] as const).map((level) => [level, (...args: unknown[]) => host.log(level, format(args))]),
) as Record<"log" | "info" | "warn" | "error" | "debug", (...args: unknown[]) => void> & Record<string, unknown>;
console.trace = console.debug;

const MAX_TIMERS = 1000;
let nextTimer = 1;
const active = new Set<number>();

export function setTimeout(cb: (...a: unknown[]) => void, ms = 0, ...args: unknown[]): number {
  if (typeof cb !== "function") throw new TypeError("setTimeout: callback must be a function");
  if (active.size >= MAX_TIMERS) throw new Error(`setTimeout: too many pending timers (limit ${MAX_TIMERS})`);
  const id = nextTimer++;
  active.add(id);
  host.call("sleep", String(Math.max(0, Number(ms) || 0))).then(
    () => {
      if (active.delete(id)) cb(...args);
    },
    () => active.delete(id),
  );
  return id;
}

export function clearTimeout(id: number | undefined): void {
  if (id !== undefined) active.delete(id);
}

export function queueMicrotask(cb: () => void): void {
  Promise.resolve().then(cb);
}
