/**
 * setInterval/clearInterval on the guest's host timers (each tick is one bounded timeout,
 * so intervals count against the timer cap and end with the call's wall-clock deadline),
 * a clearTimeout that clears either kind (they share one id space, as in HTML), and
 * `performance` (now(): milliseconds since the interpreter's prelude ran, monotonic;
 * timeOrigin; toJSON).
 */
import { clearTimeout as clearOne, setTimeout } from "./misc";
import { EventTarget } from "./events";

/** Interval id → id of its pending timeout. */
const intervals = new Map<number, number>();

export function setInterval(cb: (...a: unknown[]) => void, ms = 0, ...args: unknown[]): number {
  if (typeof cb !== "function") throw new TypeError("setInterval: callback must be a function");
  const delay = Math.max(1, Number(ms) || 0);
  const tick = () => {
    if (!intervals.has(id)) return;
    intervals.set(id, setTimeout(tick, delay));
    cb(...args);
  };
  const id: number = setTimeout(tick, delay);
  intervals.set(id, id);
  return id;
}

export function clearTimer(id?: number): void {
  if (id === undefined || id === null) return;
  const n = Number(id);
  const pending = intervals.get(n);
  intervals.delete(n);
  clearOne(pending ?? n);
}

const origin = Date.now();
let last = 0;

class Performance extends EventTarget {
  get timeOrigin(): number {
    return origin;
  }
  now(): number {
    const t = Date.now() - origin;
    return (last = t > last ? t : last);
  }
  toJSON(): { timeOrigin: number } {
    return { timeOrigin: origin };
  }
  override get [Symbol.toStringTag](): string {
    return "Performance";
  }
}

export const performance = new Performance();

/** HTML's queueMicrotask: the callback runs as a microtask; a non-function is a TypeError. */
export function queueMicrotask(cb: () => void): void {
  if (typeof cb !== "function") throw new TypeError("queueMicrotask: callback must be a function");
  Promise.resolve().then(() => cb());
}
