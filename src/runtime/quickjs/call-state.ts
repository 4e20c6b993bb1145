/**
 * Worker side: the state of one guest call — CPU clock, wall deadline, captured logs
 * (capped per call), its timers — and the typed Failure a call ends with when it hits a
 * limit. A timer never fires early: one that would outlast the wall deadline is never
 * armed (the deadline ends the call first), and when the call ends its remaining timers
 * are handed back (takeTimers) so the instance cancels them in the guest too.
 */
import type { GuestLogLine, Limits, RuntimeFailureReason } from "../types";
import type { CallClock } from "./slices";
import type { Settler } from "./guest-host";

export class Failure extends Error {
  constructor(readonly reason: RuntimeFailureReason, message: string) {
    super(message);
  }
}

const MAX_TIMERS = 1000;

export class Call implements CallClock {
  cpuMs = 0;
  /** Real thread CPU inside the call's slices (slices.ts); reported as the call's cpuMs. */
  threadCpuMs = 0;
  readonly budgetMs: number;
  readonly started = performance.now();
  logs: GuestLogLine[] = [];
  private logBytes = 0;
  private logCapped = false;
  /** Guest timer id → its settler and host timer (undefined: never fires before the deadline). */
  private timers = new Map<number, { settler: Settler; h?: ReturnType<typeof setTimeout> }>();
  /** performance.now() at which the wall deadline passes (watched by the shared wall timer). */
  readonly deadline: number;
  private failure: Failure | null = null;
  private failedP: Promise<never> | null = null;
  private rejectFailed: ((f: Failure) => void) | null = null;
  done = false;
  /** The call's kv reads may be answered from the worker's own connection (a fetch's first attempt; kv-reads.ts). */
  localReads = false;
  /** Host calls answered at once in the running slice of this call (instance.ts READS_PER_SLICE). */
  sliceReads = 0;

  constructor(readonly id: number, readonly limits: Limits, readonly onWall: (c: Call) => void) {
    this.budgetMs = limits.cpuMs;
    this.deadline = this.started + limits.wallMs;
    watchWall(this);
  }

  /** Rejects when the call fails from outside its own flow (deadline, instance dropped). Made on first use. */
  get failed(): Promise<never> {
    if (!this.failedP) {
      this.failedP = this.failure ? Promise.reject(this.failure) : new Promise<never>((_, reject) => (this.rejectFailed = reject));
      this.failedP.catch(() => {});
    }
    return this.failedP;
  }

  fail(f: Failure): void {
    if (this.failure) return;
    this.failure = f;
    this.rejectFailed?.(f);
  }

  log(level: string, message: string): void {
    if (this.logCapped) return;
    const bytes = message.length + 16;
    if (this.logs.length >= this.limits.logLines || this.logBytes + bytes > this.limits.logBytes) {
      this.logCapped = true;
      this.logs.push({ level: "warn", message: `[log limit reached (${this.limits.logLines} lines / ${this.limits.logBytes} bytes per call): further output dropped]`, at: Date.now() });
      return;
    }
    this.logBytes += bytes;
    const lv = (["debug", "info", "log", "warn", "error"] as const).find((l) => l === level) ?? "log";
    this.logs.push({ level: lv, message, at: Date.now() });
  }

  /**
   * Arms guest timer `id` for `wait` ms (a delay from timerDelay() in host-calls.ts: whole,
   * non-negative, never clamped); `fire` runs when it is due. Throws past the per-call limit
   * (the agent's `timers` limit, at most 1000; the guest's setTimeout throws this message).
   */
  timer(id: number, wait: number, settler: Settler, fire: (settler: Settler) => void): void {
    const max = Math.min(this.limits.timers ?? MAX_TIMERS, MAX_TIMERS);
    if (this.timers.size >= max) throw new Error(`setTimeout: too many pending timers (limit ${max})`);
    const t: { settler: Settler; h?: ReturnType<typeof setTimeout> } = { settler };
    // Past the wall deadline the call ends as a timeout; no timer is clamped to fire there.
    if (wait < this.deadline - performance.now()) {
      t.h = setTimeout(() => {
        if (this.timers.get(id) !== t) return;
        this.timers.delete(id);
        fire(settler);
      }, wait);
    }
    this.timers.set(id, t);
  }

  /** clearTimeout from the guest: true when the timer was this call's. Its promise is dropped unsettled. */
  clearTimer(id: number): boolean {
    const t = this.timers.get(id);
    if (!t) return false;
    if (t.h !== undefined) clearTimeout(t.h);
    this.timers.delete(id);
    t.settler.discard();
    return true;
  }

  /** Stops and returns the timers still pending (the instance rejects them in the guest). */
  takeTimers(): Settler[] {
    const out: Settler[] = [];
    for (const t of this.timers.values()) {
      if (t.h !== undefined) clearTimeout(t.h);
      out.push(t.settler);
    }
    this.timers.clear();
    return out;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  finish(): void {
    this.done = true;
    wallCalls.delete(this);
    for (const t of this.timers.values()) if (t.h !== undefined) clearTimeout(t.h);
    this.timers.clear();
  }

  get wallMs(): number {
    return performance.now() - this.started;
  }
}

/**
 * One timer per worker for every call's wall deadline (instead of a setTimeout per call):
 * it is armed for the earliest deadline among the running calls, and re-armed from the
 * sweep. Calls that end simply leave the set; a timer armed for one of them fires, finds
 * nothing due and re-arms for the next deadline (or not at all).
 */
const wallCalls = new Set<Call>();
let wallTimer: ReturnType<typeof setTimeout> | null = null;
let wallTimerAt = Infinity;

function watchWall(c: Call): void {
  wallCalls.add(c);
  armWall(c.deadline);
}

function armWall(at: number): void {
  if (wallTimer !== null && wallTimerAt <= at) return;
  if (wallTimer !== null) clearTimeout(wallTimer);
  wallTimerAt = at;
  wallTimer = setTimeout(sweepWall, Math.max(0, Math.ceil(at - performance.now())));
}

function sweepWall(): void {
  wallTimer = null;
  wallTimerAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const c of [...wallCalls]) {
    if (c.deadline <= now) {
      wallCalls.delete(c);
      c.onWall(c);
    } else if (c.deadline < next) next = c.deadline;
  }
  if (next < Infinity) armWall(next);
}
