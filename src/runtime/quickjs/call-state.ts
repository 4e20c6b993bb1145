/**
 * Worker side: the state of one guest call — CPU clock, wall deadline, captured logs
 * (capped per call), outstanding timers — and the typed Failure a call ends with when it
 * hits a limit.
 */
import type { GuestLogLine, Limits, RuntimeFailureReason } from "../types";
import type { CallClock } from "./slices";

export class Failure extends Error {
  constructor(readonly reason: RuntimeFailureReason, message: string) {
    super(message);
  }
}

const MAX_TIMERS = 1000;

export class Call implements CallClock {
  cpuMs = 0;
  readonly budgetMs: number;
  readonly started = performance.now();
  logs: GuestLogLine[] = [];
  private logBytes = 0;
  private logCapped = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private wallTimer: ReturnType<typeof setTimeout>;
  private rejectFailed!: (f: Failure) => void;
  /** Rejects when the call fails from outside its own flow (deadline, instance dropped). */
  readonly failed: Promise<never>;
  done = false;

  constructor(readonly id: number, readonly limits: Limits, onWall: (c: Call) => void) {
    this.budgetMs = limits.cpuMs;
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => {});
    this.wallTimer = setTimeout(() => onWall(this), limits.wallMs);
  }

  fail(f: Failure): void {
    this.rejectFailed(f);
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

  /** A guest timer: resolves after ms unless the call ends first. Bounded in number. */
  sleep(ms: number): Promise<void> {
    if (this.timers.size >= MAX_TIMERS) return Promise.reject(new Error(`too many pending timers (limit ${MAX_TIMERS} per call)`));
    return new Promise((resolve) => {
      const h = setTimeout(() => {
        this.timers.delete(h);
        resolve();
      }, Math.min(ms, this.limits.wallMs));
      this.timers.add(h);
    });
  }

  finish(): void {
    this.done = true;
    clearTimeout(this.wallTimer);
    for (const h of this.timers) clearTimeout(h);
    this.timers.clear();
  }

  get wallMs(): number {
    return performance.now() - this.started;
  }
}
