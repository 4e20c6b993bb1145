/**
 * The operator's counters for the host's own health: failures of each background loop (by
 * name), uncaught exceptions and unhandled rejections, invocation/log rows dropped because
 * they can never be written, rows pruned by retention, and the database size. One object
 * per server, created by the composition root; /readyz details and the log read it, and the
 * metrics exporter reads the same object at scrape time (src/boot.ts wires its sources), so
 * nothing else keeps these counts.
 */

/** A plain, JSON-safe copy of the counters at one moment. */
export interface HealthSnapshot {
  /** Failures per background loop name since start (a loop that failed keeps running). */
  loopFailures: Record<string, number>;
  /** Uncaught exceptions and unhandled rejections caught by the last-resort handler. */
  uncaught: number;
  /** Invocation and log rows that could not be written (e.g. their agent was deleted) and were discarded. */
  rowsDropped: number;
  /** Invocation and log rows removed by retention. */
  rowsPruned: number;
  /** Finished schedule.run jobs removed by retention. */
  jobsPruned: number;
  /** Database size in bytes (SQLite: main file + WAL; PostgreSQL: pg_database_size), as of the last retention pass or /readyz. */
  dbBytes: number;
  /** Pages handed back to the file system by incremental vacuum (SQLite; 0 on PostgreSQL, where autovacuum does it). */
  pagesFreed: number;
}

export class HealthCounters {
  private failures = new Map<string, number>();
  uncaught = 0;
  rowsDropped = 0;
  rowsPruned = 0;
  jobsPruned = 0;
  dbBytes = 0;
  pagesFreed = 0;

  loopFailed(name: string): void {
    this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
  }

  failuresOf(name: string): number {
    return this.failures.get(name) ?? 0;
  }

  snapshot(): HealthSnapshot {
    return {
      loopFailures: Object.fromEntries(this.failures),
      uncaught: this.uncaught,
      rowsDropped: this.rowsDropped,
      rowsPruned: this.rowsPruned,
      jobsPruned: this.jobsPruned,
      dbBytes: this.dbBytes,
      pagesFreed: this.pagesFreed,
    };
  }
}
