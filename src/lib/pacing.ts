/**
 * Pacing for background work that runs on the main thread (issue 15): on SQLite every
 * statement of a background pass (retention's deletes and reads, the error-rate monitor's
 * reads) runs synchronously on the thread that also serves the calls, and an `await` of it
 * yields only to the microtask queue, never to the event loop. So a pass pauses after its
 * steps, at least as long as they took, and takes at most about half of the main thread.
 */

/**
 * The pause after a step that took `stepMs` (ms): at least as long as the step, and at least
 * 1 ms, so the event loop serves requests for at least half of a pass's time. A setImmediate
 * between steps was not enough (issue 15): at ~25,000 invocations/s a retention pass deletes
 * ~1.5 million rows a minute, ~3.6 s of SQLite work on the main thread, and with only a turn
 * of the loop between batches the calls answered in those seconds fell to ~40% with a p99 of
 * 35–95 ms (50 connections; 7 ms otherwise).
 */
export function paceAfter(stepMs: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(stepMs))));
}

/**
 * Main-thread time (ms) of steps that did no work of their own worth a pause (reads; deletes
 * that found no row) after which a pass pauses as paceAfter says. Without it a pass that only
 * read never paused: retention over 200 agents at their 5,000-line log cap held the event loop
 * for 771 ms in one piece, the error-rate monitor over 200 busy apps for 847 ms.
 */
export const READS_PACE_MS = 2;

/**
 * One pass's pacing: accounts its steps and pauses between them (paceAfter). `active`: false
 * where the statements do not run on the main thread (PostgreSQL: they are asynchronous I/O,
 * and pauses would only make a pass longer), and then it never pauses.
 */
export class Pacer {
  /** Main-thread ms of steps since the pass last paused. */
  private unpaced = 0;

  constructor(private readonly active = true) {}

  /**
   * Accounts a step that took `ms`: after one that `worked` (removed rows, freed pages), or
   * once the steps since the last pause add up to READS_PACE_MS, pauses as long as they took.
   */
  async step(ms: number, worked: boolean): Promise<void> {
    if (!this.active) return;
    this.unpaced += ms;
    if (!worked && this.unpaced < READS_PACE_MS) return;
    const owed = this.unpaced;
    this.unpaced = 0;
    await paceAfter(owed);
  }

  /** Runs the step `q` and accounts it (step()); `worked` says from its result whether it did work. */
  async time<T>(q: () => Promise<T>, worked: (r: T) => boolean): Promise<T> {
    const started = performance.now();
    const r = await q();
    await this.step(performance.now() - started, worked(r));
    return r;
  }

  /** Runs the read `q` and accounts it as a step that did no work (step()). */
  read<T>(q: () => Promise<T>): Promise<T> {
    return this.time(q, () => false);
  }
}
