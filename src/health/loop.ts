/**
 * Background loops: one timer per named piece of periodic work (invocation-log flush,
 * lastUsedAt batches, scheduler tick, retention...). A run that throws or rejects is logged
 * with the loop's name and counted, and the loop keeps its schedule; runs never overlap (an
 * async run still going when the timer fires is skipped). This is the only place a
 * background timer's failure is handled, so no loop can take the process down.
 */
import type { HealthCounters } from "./counters";

/** The logger shape loops need (src/http's Logger satisfies it). */
export interface LoopLogger {
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Loop {
  readonly name: string;
  /** Runs the body once now (guarded like a timer run); resolves when it is done. */
  runNow(): Promise<void>;
  stop(): void;
}

/** Logs and counts one failure of the named loop; never throws. */
export function reportLoopFailure(name: string, error: unknown, deps: { logger: LoopLogger; counters: HealthCounters }): void {
  deps.counters.loopFailed(name);
  try {
    deps.logger.error("background loop failed", { loop: name, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  } catch {
    // a broken logger must not turn a handled failure into an uncaught one
  }
}

/**
 * Starts `body` every `everyMs` milliseconds under `name`. The timer is unref'd so a loop
 * never keeps a stopping process alive.
 */
export function startLoop(name: string, everyMs: number, body: () => unknown, deps: { logger: LoopLogger; counters: HealthCounters }): Loop {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await body();
    } catch (e) {
      reportLoopFailure(name, e, deps);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(run, everyMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    name,
    runNow: run,
    stop: () => clearInterval(timer),
  };
}
