/**
 * One guest call inside the sidecar: CPU used (summed over the slices that ran for it),
 * wall deadline, captured logs with the per-call caps, bounded timers, and how it ends —
 * exactly once, with a result or a typed failure (reason + message), like the QuickJS
 * engine's Call.
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
  #timers = new Set();
  #wall;
  #started = performance.now();

  constructor(id, limits, end, onWall) {
    this.id = id;
    this.limits = limits;
    this.end = end;
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

  sleep(ms, settle) {
    const max = Math.min(this.limits.timers ?? MAX_TIMERS, MAX_TIMERS);
    if (this.#timers.size >= max) return settle(false, `too many pending timers (limit ${max} per call)`);
    const h = setTimeout(() => {
      this.#timers.delete(h);
      settle(true, "");
    }, Math.min(ms, this.limits.wallMs));
    this.#timers.add(h);
  }

  /** Ends the call once: ok → end(null, value); failure → end({ reason, message }). */
  finish(failure, value) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.#wall);
    for (const h of this.#timers) clearTimeout(h);
    this.#timers.clear();
    this.end(failure, value);
  }
}
