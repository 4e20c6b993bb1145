/**
 * Worker side: when a sandbox worker runs the full garbage collection that hands dropped
 * interpreters' WebAssembly memory back to the system (a dropped interpreter's Memory is
 * freed only when a collection finds it unreachable). A synchronous full collection holds the
 * thread 2–9 ms, so how soon it runs depends on how much memory is waiting for it:
 *
 * - at least DROPPED_BYTES_URGENT of resident memory dropped since the last collection (one
 *   instance that had grown, or many small ones): once the worker has been idle for
 *   idle.ts's usual delay, and at the latest URGENT_MAX_DELAY_MS after the drop, as before
 *   (the sandbox's memory budget counts on it coming back);
 * - less than that: once the worker has been idle for LAZY_IDLE_MS, and at the latest
 *   LAZY_MAX_DELAY_MS after the drop. The load worker drops every load-check's interpreter
 *   (~1–2 MB each), and with checks a few ms to tens of ms apart — back-to-back deploys — a
 *   collection 5 ms after each one was still running when the next check arrived (issue 15).
 *
 * Memory the budget has released but no collection has returned yet is thereby bounded by
 * DROPPED_BYTES_URGENT plus the last instance dropped, per worker.
 */
import { whenIdle } from "./idle";

/** Dropped resident bytes from which the collection runs as soon as the worker is idle (16 MiB). */
export const DROPPED_BYTES_URGENT = 16 * 1024 * 1024;
/** Longest an urgent collection waits for the worker to go idle (ms). */
export const URGENT_MAX_DELAY_MS = 50;
/** How long the worker must have been idle before a lazy collection runs (ms). */
export const LAZY_IDLE_MS = 250;
/** Longest a lazy collection waits (ms). */
export const LAZY_MAX_DELAY_MS = 1000;

/**
 * Schedules the collections for the interpreters this worker drops. `collect` runs one
 * synchronous full collection (`() => Bun.gc(true)` in the worker).
 */
export class DroppedMemory {
  /** Resident bytes of the interpreters dropped since the last collection. */
  private waiting = 0;
  /** Whether a collection is queued, and which kind: an urgent one replaces nothing, it is queued beside a lazy one. */
  private queued: "lazy" | "urgent" | null = null;

  constructor(private collect: () => void) {}

  /** Resident bytes waiting for a collection now. */
  get bytes(): number {
    return this.waiting;
  }

  /** An interpreter with `residentBytes` of memory in use was dropped. */
  dropped(residentBytes: number): void {
    this.waiting += Math.max(0, residentBytes);
    const urgent = this.waiting >= DROPPED_BYTES_URGENT;
    if (this.queued === "urgent" || (this.queued === "lazy" && !urgent)) return;
    this.queued = urgent ? "urgent" : "lazy";
    if (urgent) whenIdle(() => this.run(), URGENT_MAX_DELAY_MS);
    else whenIdle(() => this.run(), LAZY_MAX_DELAY_MS, LAZY_IDLE_MS);
  }

  /** A queued collection's turn: one collection for everything dropped so far (a later queued turn finds nothing left and does nothing). */
  private run(): void {
    this.queued = null;
    if (this.waiting === 0) return;
    this.waiting = 0;
    this.collect();
  }
}
