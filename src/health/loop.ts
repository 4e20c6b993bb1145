/**
 * Background loops: one timer per named piece of periodic work (invocation-log flush,
 * lastUsedAt batches, scheduler tick, retention...). A run that throws or rejects is logged
 * with the loop's name and counted, and the loop keeps its schedule; runs never overlap (an
 * async run still going when the timer fires is skipped; runNow joins a runNow in progress,
 * and after a timer run in progress it runs once more, as "now"). This is the only place a
 * background timer's failure is handled, so no loop can take the process down.
 */
import type { HealthCounters } from "./counters";

/** The logger shape loops need (src/http's Logger satisfies it). */
export interface LoopLogger {
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What started a run: the loop's timer, or `runNow` (an explicit request, e.g. from a test or an operator). */
export type LoopTrigger = "timer" | "now";

export interface Loop {
  readonly name: string;
  /**
   * Runs the body once with trigger "now" and resolves when it is done: joins a "now" run in
   * progress, or waits for a timer run in progress and then runs (a timer run may have
   * skipped its work, e.g. a chore another node had just done).
   */
  runNow(): Promise<void>;
  /** Stops the timer; resolves once a run in progress (if any) has finished. */
  stop(): Promise<void>;
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
 * never keeps a stopping process alive. The body learns what started the run (a cluster-wide
 * chore skips a timer run another node already did, but not an explicit `runNow`).
 */
export function startLoop(name: string, everyMs: number, body: (trigger: LoopTrigger) => unknown, deps: { logger: LoopLogger; counters: HealthCounters }): Loop {
  let current: Promise<void> | null = null;
  let currentTrigger: LoopTrigger = "timer";
  /** A runNow waiting for a timer run to end before it runs (a timer run may skip its work). */
  let waitingNow: Promise<void> | null = null;
  const timerRunGoing = (): boolean => current !== null && currentTrigger !== "now";
  const run = (trigger: LoopTrigger): Promise<void> => {
    if (current) return current;
    currentTrigger = trigger;
    // The body starts in a microtask, so `current` is set before a synchronous throw settles it.
    const p: Promise<void> = Promise.resolve()
      .then(() => body(trigger))
      .then(
        () => {},
        (e) => reportLoopFailure(name, e, deps),
      )
      .finally(() => {
        if (current === p) current = null;
      });
    current = p;
    return p;
  };
  const timer = setInterval(() => run("timer"), everyMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    name,
    runNow: () => {
      if (!timerRunGoing()) return run("now");
      // A timer run is going, and it may skip its work (a cluster chore another node did):
      // wait for it, then run as "now". Concurrent calls share that one run.
      return (waitingNow ??= (async () => {
        try {
          while (timerRunGoing()) await current;
          await run("now");
        } finally {
          waitingNow = null;
        }
      })());
    },
    async stop() {
      clearInterval(timer);
      await waitingNow;
      await current;
    },
  };
}
