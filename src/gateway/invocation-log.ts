/**
 * The invocation log: one row per call, and the guest's console lines, collected in memory
 * and written in batches (one transaction per flush, through the write gate) so the hot path
 * never waits on the database.
 * A batch that fails is retried row by row: a row that can never be written (its agent was
 * deleted, a constraint it breaks) is dropped and reported through `onDropped`; a row that
 * failed for a passing reason (database busy) is kept for the next flush, at most
 * MAX_ATTEMPTS times, so the buffer never grows without bound. Rows are written through two
 * statements prepared once (one row each, run inside the flush's transaction), not a
 * multi-row INSERT built and prepared again on every flush (issue 15: 14–29 µs per row
 * against 3.6–11 µs). The batch is taken from the buffer inside the transaction, under the
 * gate: an agent's deletion announces `agent.deleted` after its COMMIT and before the gate
 * admits the next writer, so its buffered rows are gone before any flush could insert them.
 * On PostgreSQL there is no gate and the deletion may come from another node: a flush that
 * meets the foreign key falls back to row by row (each row in a savepoint there) and the
 * deleted agent's rows are dropped as permanent errors.
 *
 * A flush never holds the main thread for long (issue 15: a flush of 2,000 rows took 9–23 ms
 * in one piece, every ~125 ms under load — the invoke path's p99): inside its transaction it
 * writes ROWS_PER_TURN rows (and as many console lines) at a time and yields to the event
 * loop between them (the gate lets a transaction await; no other writer's statement lands in
 * it). A transaction takes at most ROWS_PER_TX rows, so commits stay as rare as before (a
 * commit per 256 rows was measured at 3–9% more server CPU per invoke: the same index pages
 * written to the WAL again and again). Full groups of ROWS_PER_INSERT rows go through one
 * multi-row INSERT, also prepared once (2.5–3 µs per row against 4.4–11 µs one at a time).
 * On SQLite the three statements run straight on the driver with positional values
 * (db/raw.ts positionalWrite), synchronously inside the transaction: drizzle's placeholder
 * filling was about two thirds of the per-row cost; PostgreSQL keeps drizzle's statements.
 */
import { and, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { Db, Tx } from "../db";
import { agentLogs, dialect, invocations } from "../db/schema";
import { ROWS_PER_INSERT, statementsOf, type InvocationInsert, type LogInsert } from "./invocation-statements";
import type { GuestLogLine } from "../runtime/types";
import { pageOf, type Page } from "../lib/pagination";
import { iso } from "../lib/time";
import { rethrowLater } from "../lib/rethrow-later";

export { ROWS_PER_INSERT, type InvocationInsert } from "./invocation-statements";

/** Flushes a row may fail for a passing reason (busy, I/O) before it is dropped. */
const MAX_ATTEMPTS = 3;

export interface InvocationLogOptions {
  /** Rows and lines buffered before record() starts a flush on its own (default ROWS_PER_TX). */
  maxBuffer?: number;
  /** Called for every recorded row (metrics). */
  onRecord?: (row: InvocationInsert) => void;
  /** Called when rows are discarded because they cannot be written; `reason` is the first error. */
  onDropped?: (rows: number, reason: string) => void;
}

/**
 * True for write errors that retrying cannot fix: SQLite constraint violations (FK, NOT
 * NULL, CHECK) and type mismatches; on PostgreSQL the SQLSTATE classes 23 (integrity
 * constraint violation) and 22 (data exception, e.g. a NUL in text), which Bun.SQL reports
 * in `errno` (PostgreSQL manual, appendix A "Error Codes").
 */
export function isPermanentWriteError(e: unknown): boolean {
  for (let c: unknown = e, i = 0; c && i < 4; c = (c as { cause?: unknown }).cause, i++) {
    const { code, errno } = c as { code?: unknown; errno?: unknown };
    if (typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT")) return true;
    if (typeof code === "string" && code.startsWith("SQLITE_MISMATCH")) return true;
    if (typeof errno === "string" && /^2[23][0-9A-Z]{3}$/.test(errno)) return true;
  }
  return false;
}

/** Rows (and, separately, console lines) a flush writes between two yields to the event loop (~1 ms of work). */
export const ROWS_PER_TURN = 256;

/** Rows (and, separately, console lines) one flush transaction takes at most. */
export const ROWS_PER_TX = 2048;


export class InvocationLog {
  private rows: InvocationInsert[] = [];
  private logs: LogInsert[] = [];
  private attempts = new WeakMap<object, number>();

  constructor(private db: Db, private opts: InvocationLogOptions = {}) {
    db.bus.subscribe("agent.deleted", (m) => this.forgetAgent(m.agentId), () => {});
  }

  /** A flush in progress started by record() (so a burst starts one, not one per row). */
  private flushing: Promise<number> | null = null;
  /** The last flush queued: flushes run one after another, so one that returns leaves nothing of its batch uncommitted. */
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * Writes `rows` and `logs` in this transaction, ROWS_PER_TURN of each at a time with a
   * yield to the event loop in between: full groups of rows through the multi-row insert,
   * the rest one by one.
   */
  private async writeAll(tx: Tx, rows: InvocationInsert[], logs: LogInsert[]): Promise<void> {
    const s = statementsOf(tx);
    for (let from = 0; from < rows.length || from < logs.length; from += ROWS_PER_TURN) {
      if (from > 0) await new Promise<void>((r) => setImmediate(r));
      const end = Math.min(rows.length, from + ROWS_PER_TURN);
      let i = from;
      // SQLite's statements run synchronously and return nothing: no await (a microtask) per statement there.
      let p: Promise<void> | void;
      for (; i + ROWS_PER_INSERT <= end; i += ROWS_PER_INSERT) if ((p = s.rows(rows, i))) await p;
      for (; i < end; i++) if ((p = s.row(rows[i]!))) await p;
      for (let j = from; j < logs.length && j < from + ROWS_PER_TURN; j++) if ((p = s.log(logs[j]!))) await p;
    }
  }

  /** Buffered rows and log lines not yet written. */
  get pending(): number {
    return this.rows.length + this.logs.length;
  }

  /**
   * Discards the buffered rows of a deleted agent (on `agent.deleted`, delivered after the
   * DELETE commits and before the next write transaction): the cascade removed the rows
   * already written, and written afterwards these would break the foreign key.
   */
  private forgetAgent(agentId: string): void {
    this.rows = this.rows.filter((r) => r.agentId !== agentId);
    this.logs = this.logs.filter((l) => l.agentId !== agentId);
  }

  record(row: InvocationInsert, lines: GuestLogLine[] = []): void {
    this.rows.push(row);
    this.opts.onRecord?.(row);
    for (const l of lines)
      this.logs.push({ agentId: row.agentId, invocationRequestId: row.requestId ?? null, level: l.level, message: l.message, at: l.at });
    if (!this.flushing && this.rows.length + this.logs.length >= (this.opts.maxBuffer ?? ROWS_PER_TX)) {
      this.flushing = this.flush().finally(() => (this.flushing = null));
    }
  }

  /**
   * Writes everything buffered when it is called (rows recorded meanwhile may be written
   * too); returns the invocation rows written. At most ROWS_PER_TX rows per transaction,
   * yielding to the event loop every ROWS_PER_TURN rows. Never throws: a failed batch falls back
   * to one row at a time, and a passing failure ends the flush with the buffer kept (see the
   * module comment). Flushes run one after another, so when it resolves every row recorded
   * before the call is written, also rows another flush (the loop's) had taken and was still
   * writing: readers that flush first (the error-rate monitor, tests) see them. On PostgreSQL
   * that write is truly concurrent, so returning early would have let a reader miss them.
   */
  flush(): Promise<number> {
    const run = this.chain.then(() => this.drain());
    this.chain = run.catch(() => {});
    return run;
  }

  private async drain(): Promise<number> {
    let left = this.rows.length + this.logs.length;
    let written = 0;
    while (left > 0 && this.rows.length + this.logs.length > 0) {
      const chunk = await this.flushChunk();
      written += chunk.written;
      left -= chunk.taken;
      if (chunk.stop) break;
      if (left > 0) await new Promise<void>((r) => setImmediate(r));
    }
    return written;
  }

  /** One transaction: the first ROWS_PER_TX rows and console lines of the buffer. */
  private async flushChunk(): Promise<{ written: number; taken: number; stop: boolean }> {
    let rows: InvocationInsert[] = [];
    let logs: LogInsert[] = [];
    let taken = false;
    try {
      const written = await this.db.tx(async (tx) => {
        // Taken under the gate (see the module comment).
        taken = true;
        rows = this.rows.splice(0, ROWS_PER_TX);
        logs = this.logs.splice(0, ROWS_PER_TX);
        await this.writeAll(tx, rows, logs);
        return rows.length;
      });
      return { written, taken: rows.length + logs.length, stop: false };
    } catch (e) {
      // A passing failure (busy, I/O) would fail every row alike, each after the busy
      // timeout: the whole buffer (this chunk included) waits for the next flush, one attempt
      // counted for each row, instead of trying row by row.
      if (!isPermanentWriteError(e)) {
        const all = { rows: [...rows, ...this.rows], logs: [...logs, ...this.logs] };
        this.rows = [];
        this.logs = [];
        this.keepForLater(all.rows, all.logs, e);
        return { written: 0, taken: all.rows.length + all.logs.length, stop: true };
      }
      if (!taken) return { written: 0, taken: 0, stop: true }; // (a permanent error before BEGIN: nothing was taken)
      return { written: await this.flushRowByRow(rows, logs), taken: rows.length + logs.length, stop: false };
    }
  }

  /**
   * Requeues rows after a passing failure, at the front of the buffer: they were taken before
   * anything buffered now, so they are written before it (at the back, the rows of a row-by-row
   * retry that met a busy database were written after calls recorded later). Rows out of
   * attempts are dropped and reported.
   */
  private keepForLater(rows: InvocationInsert[], logs: LogInsert[], error: unknown): void {
    let dropped = 0;
    const keep = <T extends object>(list: T[]): T[] => {
      const kept: T[] = [];
      for (const row of list) {
        const tries = (this.attempts.get(row) ?? 0) + 1;
        if (tries >= MAX_ATTEMPTS) dropped++;
        else {
          this.attempts.set(row, tries);
          kept.push(row);
        }
      }
      return kept;
    };
    this.rows = keep(rows).concat(this.rows);
    this.logs = keep(logs).concat(this.logs);
    if (dropped) this.reportDropped(dropped, error instanceof Error ? error.message : String(error));
  }

  /** Calls onDropped; a callback that throws is reported to the process's last resort and does not fail the flush (flush() never throws). */
  private reportDropped(rows: number, reason: string): void {
    try {
      this.opts.onDropped?.(rows, reason);
    } catch (e) {
      rethrowLater(e);
    }
  }

  /**
   * After a constraint failure: each row alone, in one transaction (a statement that breaks a
   * constraint is undone alone, the others stay); the ones that break a constraint are dropped.
   * Drops are reported and rows requeued only once that transaction has settled: requeued
   * inside it, rows a failed COMMIT then requeued again were written twice.
   */
  private async flushRowByRow(rows: InvocationInsert[], logs: LogInsert[]): Promise<number> {
    let r: Awaited<ReturnType<InvocationLog["rowByRow"]>>;
    try {
      r = await this.db.tx((tx) => this.rowByRow(tx, rows, logs));
    } catch (e) {
      this.keepForLater(rows, logs, e);
      return 0;
    }
    if (r.dropped) this.reportDropped(r.dropped, r.reason);
    if (r.failed) this.keepForLater(r.later.rows, r.later.logs, r.passing);
    return r.written;
  }

  /** Inserts each row and line alone; after a passing failure the rest go to `later`, untried. */
  private async rowByRow(tx: Tx, rows: InvocationInsert[], logs: LogInsert[]) {
    const s = statementsOf(tx);
    let written = 0;
    let dropped = 0;
    let reason = "";
    let failed = false;
    let passing: unknown = null;
    const later: { rows: InvocationInsert[]; logs: LogInsert[] } = { rows: [], logs: [] };
    const one = async <T extends object>(row: T, insert: (row: T) => Promise<unknown> | void, rest: T[]) => {
      if (failed) return void rest.push(row); // stop hammering a busy database
      try {
        // PostgreSQL aborts the whole transaction at a failed statement: each row goes in a
        // savepoint of its own (a nested tx), so one bad row is undone alone, as on SQLite.
        if (dialect() === "postgres") await this.db.tx(() => insert(row));
        else await insert(row);
        return true;
      } catch (e) {
        if (isPermanentWriteError(e)) {
          dropped++;
          reason ||= e instanceof Error ? e.message : String(e);
        } else {
          failed = true;
          passing = e;
          rest.push(row);
        }
        return false;
      }
    };
    for (const r of rows) if (await one(r, s.row, later.rows)) written++;
    for (const l of logs) await one(l, s.log, later.logs);
    return { written, dropped, reason, failed, passing, later };
  }

  async list(agentId: string, page: Page) {
    const cursor = page.cursor ? Number(page.cursor.replace(/^inv_/, "")) : null;
    const rows = await this.db
      .select()
      .from(invocations)
      .where(and(eq(invocations.agentId, agentId), cursor ? lt(invocations.id, cursor) : undefined))
      .orderBy(desc(invocations.id))
      .limit(page.limit + 1);
    const p = pageOf(rows, page.limit, (r) => `inv_${r.id}`);
    return {
      data: p.data.map((r) => ({
        id: `inv_${r.id}`,
        agentId: r.agentId,
        version: r.version,
        keyId: r.keyId,
        source: r.source,
        method: r.method,
        path: r.path,
        status: r.status,
        latencyMs: r.latencyMs,
        errorCode: r.errorCode,
        requestId: r.requestId,
        at: iso(r.at),
      })),
      nextCursor: p.nextCursor,
    };
  }

  async recentLogs(agentId: string, limit: number) {
    const rows = await this.db.select().from(agentLogs).where(eq(agentLogs.agentId, agentId)).orderBy(desc(agentLogs.id)).limit(limit);
    return rows.map((l) => ({ level: l.level, message: l.message, requestId: l.invocationRequestId, at: iso(l.at) }));
  }

  /**
   * Count, error rate and latency percentiles (ms, nearest rank) over the last `windowMs`.
   * Computed by the database: one aggregate for count and errors, one ranked pass for the three
   * percentiles (the invocations_agent_at index bounds the window), so no rows are loaded
   * into memory.
   * An error is a row with an error code or a 5xx status.
   */
  async metrics(agentId: string, windowMs: number, now = Date.now()) {
    const inWindow = and(eq(invocations.agentId, agentId), gte(invocations.at, now - windowMs));
    const totals = await this.errorRate(agentId, windowMs, now);
    const n = totals.count;
    // Nearest rank: the smallest latency with at least p% of the window at or below it. One
    // sort of the window serves all three ranks (row_number over latency, 0-based).
    const rankOf = (p: number) => Math.min(n - 1, Math.ceil((p / 100) * n) - 1);
    const ranks = [rankOf(50), rankOf(95), rankOf(99)] as const;
    const at = new Map<number, number>();
    if (n > 0) {
      const ranked = this.db
        .select({ latencyMs: invocations.latencyMs, rank: sql<number>`cast(row_number() OVER (ORDER BY ${invocations.latencyMs}) - 1 AS integer)`.as("rank") })
        .from(invocations)
        .where(inWindow)
        .as("ranked");
      for (const r of (await this.db.select().from(ranked).where(inArray(ranked.rank, [...ranks])))) at.set(r.rank, r.latencyMs);
    }
    const pct = (i: 0 | 1 | 2): number | null => (n > 0 ? (at.get(ranks[i]) ?? null) : null);
    return { ...totals, latencyMs: { p50: pct(0), p95: pct(1), p99: pct(2) } };
  }

  /**
   * Count, errors and error rate (0–1) over the last `windowMs` (ms before `now`, epoch ms):
   * metrics() without the percentiles' sort. An error is a row with an error code or a 5xx
   * status. `newest`: only the agent's newest `newest` rows count (those of them in the
   * window), so the read costs at most that many rows however busy the agent is — the
   * error-rate monitor's form: a minute of one app at ~25,000 calls/s is 1.5 million rows in
   * the window, one read of which held the event loop ~140 ms.
   */
  async errorRate(agentId: string, windowMs: number, now = Date.now(), newest?: number): Promise<{ windowMs: number; count: number; errors: number; errorRate: number }> {
    let from: number | null = null;
    if (newest !== undefined) {
      // The id of the newest-th newest row (the (agent_id, id) index alone); none: the agent has fewer.
      const edge = (await this.db.select({ id: invocations.id }).from(invocations).where(eq(invocations.agentId, agentId)).orderBy(desc(invocations.id)).limit(1).offset(Math.max(0, newest - 1)))[0];
      if (edge) from = Number(edge.id);
    }
    const totals = (await this.db
      .select({
        // count() is bigint on PostgreSQL (a string from the driver): mapped to a number.
        count: sql<number>`count(*)`.mapWith(Number),
        errors: sql<number>`count(*) FILTER (WHERE ${invocations.errorCode} IS NOT NULL OR ${invocations.status} >= 500)`.mapWith(Number),
      })
      .from(invocations)
      .where(
        from === null
          ? and(eq(invocations.agentId, agentId), gte(invocations.at, now - windowMs))
          : // `+at`: the window's bound read from each row, not an index range, so the planner
            // walks the (agent_id, id) range of at most `newest` rows (SQLite took the
            // (agent_id, at) index and read the whole window otherwise).
            and(eq(invocations.agentId, agentId), gte(invocations.id, from), sql`+${invocations.at} >= ${now - windowMs}`),
      )
      .limit(1))[0]!;
    return { windowMs, count: totals.count, errors: totals.errors, errorRate: totals.count ? totals.errors / totals.count : 0 };
  }
}
