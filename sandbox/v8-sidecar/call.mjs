/**
 * One guest call inside the sidecar: CPU used (summed over the slices that ran for it),
 * wall deadline, captured logs with the per-call caps, bounded timers, and how it ends —
 * exactly once, with a result or a typed failure (reason + message), like the QuickJS
 * engine's Call. A timer never fires early: one that would outlast the wall deadline is
 * never armed; timers still pending when the call ends are left in `leftTimers` (guest
 * hids) so the instance cancels them in the guest too.
 */
const MAX_TIMERS = 1000;
const LEVELS = ["debug", "info", "log", "warn", "error"];

export class Call {
  cpuNs = 0n;
  logs = [];
  done = false;
  /** The response waiting for the slice that produced it to end (so its CPU is counted). */
  result = null;
  #logBytes = 0;
  #logCapped = false;
  #timers = new Map();
  #wall;
  #started = performance.now();
  #deadline;
  /** Guest hids of the timers still pending when the call finished. */
  leftTimers = [];

  constructor(id, limits, end, onWall) {
    this.id = id;
    this.limits = limits;
    this.end = end;
    this.#deadline = this.#started + limits.wallMs;
    this.#wall = setTimeout(() => onWall(this), limits.wallMs);
  }

  get cpuMs() {
    return Number(this.cpuNs) / 1e6;
  }

  get wallMs() {
    return performance.now() - this.#started;
  }

  log(level, message) {
    if (this.#logCapped || this.done) return;
    // The guest reaches this through $log; a poisoned String() in the isolate can hand over any primitive.
    if (typeof message !== "string") message = String(message);
    const bytes = message.length + 16;
    if (this.logs.length >= this.limits.logLines || this.#logBytes + bytes > this.limits.logBytes) {
      this.#logCapped = true;
      this.logs.push({ level: "warn", message: `[log limit reached (${this.limits.logLines} lines / ${this.limits.logBytes} bytes per call): further output dropped]`, at: Date.now() });
      return;
    }
    this.#logBytes += bytes;
    this.logs.push({ level: LEVELS.includes(level) ? level : "log", message, at: Date.now() });
  }

  /**
   * Arms guest timer `id` (promise `hid`) for `ms`; throws past the per-call limit (the
   * agent's `timers` limit, at most 1000). `ms` is made a delay by the same rule as
   * timerDelay() in src/runtime/host-calls.ts: whole ms, at least 0 (NaN and negatives are
   * 0), rounded up so it never fires early, and never clamped: a timer that would outlast
   * the wall deadline is never armed, and the deadline ends the call (504).
   */
  timer(hid, id, ms, fire) {
    const max = Math.min(this.limits.timers ?? MAX_TIMERS, MAX_TIMERS);
    if (this.#timers.size >= max) throw new Error(`setTimeout: too many pending timers (limit ${max})`);
    const wait = typeof ms === "number" && ms > 0 ? Math.ceil(ms) : 0;
    const t = { hid, h: undefined };
    if (wait < this.#deadline - performance.now()) {
      t.h = setTimeout(() => {
        if (this.#timers.get(id) !== t) return;
        this.#timers.delete(id);
        fire(hid);
      }, wait);
    }
    this.#timers.set(id, t);
  }

  /** clearTimeout from the guest: true when the timer was this call's. */
  clearTimer(id) {
    const t = this.#timers.get(id);
    if (!t) return false;
    if (t.h !== undefined) clearTimeout(t.h);
    this.#timers.delete(id);
    return true;
  }

  /** Ends the call once: ok → end(null, value); failure → end({ reason, message }). */
  finish(failure, value) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.#wall);
    for (const t of this.#timers.values()) {
      if (t.h !== undefined) clearTimeout(t.h);
      this.leftTimers.push(t.hid);
    }
    this.#timers.clear();
    this.end(failure, value);
  }
}
