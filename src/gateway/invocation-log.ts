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
 * takes rows (and console lines) from the front of the buffer a piece at a time, writes the
 * piece and yields to the event loop before the next (the gate lets a transaction await; no
 * other writer's statement lands in it). A piece is one multi-row INSERT while the log keeps
 * up and an eighth of what waits when it is behind (rowsThisTurn, up to MAX_ROWS_PER_TURN),
 * so the log writes faster than the calls add rows; a flush starts on its own once FLUSH_AT
 * rows are buffered, and its transaction goes on while rows keep coming, so under load the
 * log writes a steady trickle in rare transactions rather than a backlog in 256-row pieces
 * every 200 ms (~1 ms of the main thread each, and the calls in flight waited behind each;
 * README, "Performance"). A transaction ends, committing what it took:
 * - after a turn that found nothing buffered, or at ROWS_PER_TX rows or lines (a commit per
 *   256 rows was measured at 3–9% more server CPU per invoke: the same index pages written to
 *   the WAL again and again), or TX_OPEN_MS after it began (rows in it are lost to a crash as
 *   buffered ones are);
 * - as soon as every row and line a waiting reader's flush() needs is in it (each buffered
 *   row and line carries its call's sequence number; a flush() waits for the ones up to the
 *   last recorded before it), so a reader under steady traffic waits a few turns;
 * - when another transaction waits for the gate (`Db.writersWaiting`, SQLite only): at the
 *   next turn, or after HANDOVER_TURNS turns when the log is behind (its pieces are
 *   MAX_ROWS_PER_TURN while a writer waits); the flush goes on behind that writer.
 * Full groups of ROWS_PER_INSERT rows go through one
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

export { ROWS_PER_INSERT, type InvocationInsert } from "./invocation-statements";

/** Flushes a row may fail for a passing reason (busy, I/O) before it is dropped. */
const MAX_ATTEMPTS = 3;

export interface InvocationLogOptions {
  /** Rows and lines buffered before record() starts a flush on its own (default FLUSH_AT). */
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

/** Rows (and, separately, console lines) a piece writes while the log keeps up: one multi-row INSERT. */
export const ROWS_PER_TURN = ROWS_PER_INSERT;

/**
 * Most rows (and lines) one piece writes (~1 ms of the main thread): behind, a piece is an
 * eighth of what waits, in whole multi-row INSERTs, from ROWS_PER_TURN up to this, so the log
 * writes faster than calls add rows however many a turn brings (on PostgreSQL, whose inserts
 * do not hold the thread, always this).
 */
export const MAX_ROWS_PER_TURN = 256;

/** Rows (and, separately, console lines) one flush transaction takes at most. */
export const ROWS_PER_TX = 2048;

/** Rows and lines buffered at which record() starts a flush on its own (the 200 ms loop flushes fewer). */
export const FLUSH_AT = 256;

/**
 * Turns of the event loop another transaction may wait for the write gate while the log's is
 * open and the log is behind (a full piece buffered); then the log's commits what it wrote and
 * goes on behind it. Not behind, the log hands the gate over at the next turn.
 */
export const HANDOVER_TURNS = 4;

/**
 * Longest a log transaction stays open, in ms: rows taken into it are lost to a crash as
 * buffered ones are, so this keeps that window at the 200 ms loop's, and on PostgreSQL it
 * bounds how long the transaction holds its connection and the agents' key-share locks.
 */
export const TX_OPEN_MS = 200;

/** How long, in ms, an open log transaction waits for a call to add a row before it commits. */
export const IDLE_MS = 2;

/**
 * For this long (ms) after the log's transaction saw another writer wait for the gate, it
 * commits as soon as the buffer is empty instead of waiting IDLE_MS for rows: under kv writes
 * on every call, an open log transaction waiting for rows kept them waiting.
 */
export const CONTENDED_MS = 100;

/** The rows one piece writes when `waiting` rows (or lines) wait: an eighth of them, in whole multi-row INSERTs, between ROWS_PER_TURN and MAX_ROWS_PER_TURN. */
export function rowsThisTurn(waiting: number): number {
  return Math.min(MAX_ROWS_PER_TURN, Math.max(ROWS_PER_TURN, Math.ceil(waiting / 8 / ROWS_PER_INSERT) * ROWS_PER_INSERT));
}

/** A caller of flush() (urgent), or record()'s own flush: done once every row and line recorded up to `mark` is committed. */
interface Waiter {
  /** The sequence number of the last call recorded before it. */
  mark: number;
  /** A reader waits: the log's transaction ends as soon as it holds everything up to `mark`. */
  urgent: boolean;
  /** Invocation rows committed while it waited. */
  written: number;
  resolve: (written: number) => void;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class InvocationLog {
  private rows: InvocationInsert[] = [];
  private logs: LogInsert[] = [];
  private attempts = new WeakMap<object, number>();
  /** Each buffered row's and line's call, numbered from 1 in the order recorded (a line has its row's). */
  private seqOf = new WeakMap<object, number>();
  private seq = 0;
  private waiters: Waiter[] = [];
  /** Wakes an open transaction that waits for rows (writeTaking): called by record() and flush(). */
  private arrival: (() => void) | null = null;
  /** When (performance.now(), ms) the log's transaction last saw another writer wait for the gate. */
  private contendedAt = -Infinity;
  /** A writer (run()) is going: one at a time, so its transactions run one after another. */
  private running = false;

  constructor(private db: Db, private opts: InvocationLogOptions = {}) {
    db.bus.subscribe("agent.deleted", (m) => this.forgetAgent(m.agentId), () => {});
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
    const seq = ++this.seq;
    // (The same object recorded twice would take the newer number and hide the older row from flush().)
    if (this.seqOf.has(row)) row = { ...row };
    this.rows.push(row);
    this.seqOf.set(row, seq);
    this.opts.onRecord?.(row);
    for (const l of lines) {
      const line: LogInsert = { agentId: row.agentId, invocationRequestId: row.requestId ?? null, level: l.level, message: l.message, at: l.at };
      this.logs.push(line);
      this.seqOf.set(line, seq);
    }
    if (this.arrival) this.arrival();
    else if (!this.running && this.full()) void this.wait(false);
  }

  /**
   * Resolves once every row and console line recorded before the call is written (rows
   * recorded meanwhile may be written too), with the invocation rows committed meanwhile.
   * Never throws: a failed batch falls back to one row at a time, and a passing failure ends
   * the flush with the buffer kept (see the module comment). A transaction of the log that is
   * open when it is called ends as soon as it holds those rows, so under steady traffic a
   * reader (an agent's invocations page, the error-rate monitor, tests) waits a few turns of
   * the event loop, not for the transaction's ROWS_PER_TX rows. On PostgreSQL, too, it
   * resolves only after the rows' COMMIT, so a reader that flushes first sees them.
   */
  flush(): Promise<number> {
    return this.wait(true);
  }

  /**
   * Like flush(), but an open transaction of the log is not ended early for it: it resolves
   * when that transaction commits (within TX_OPEN_MS) or a later one has the rows recorded
   * before the call. For the 200 ms loop, which only makes sure rows reach the database; as
   * urgent as a reader, it would end the log's transaction every 200 ms under load.
   */
  flushInBackground(): Promise<number> {
    return this.wait(false);
  }

  /** Resolves true at the next record() or flush(), false after `ms` without one. */
  private nextArrival(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.arrival = null;
        resolve(false);
      }, ms);
      this.arrival = () => {
        this.arrival = null;
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** True when record() should start a flush: FLUSH_AT (or `maxBuffer`) rows and lines buffered, and at least one. */
  private full(): boolean {
    const n = this.rows.length + this.logs.length;
    return n > 0 && n >= (this.opts.maxBuffer ?? FLUSH_AT);
  }

  private wait(urgent: boolean): Promise<number> {
    if (!this.running && this.taken(this.seq)) return Promise.resolve(0);
    return new Promise<number>((resolve) => {
      this.waiters.push({ mark: this.seq, urgent, written: 0, resolve });
      this.arrival?.();
      if (!this.running) void this.run();
    });
  }

  /** True once no row or line of a call up to `mark` is buffered (taken into a transaction, written, or dropped). */
  private taken(mark: number): boolean {
    const r = this.rows[0];
    const l = this.logs[0];
    return (r === undefined || this.seqOf.get(r)! > mark) && (l === undefined || this.seqOf.get(l)! > mark);
  }

  /** True when a reader waits for rows the open transaction holds: it should commit now. */
  private readerServed(): boolean {
    for (const w of this.waiters) if (w.urgent) return this.taken(w.mark);
    return false;
  }

  /** Resolves the waiters that are done (all of them when `all`); between transactions only, so taken means committed. */
  private settle(all: boolean): void {
    this.waiters = this.waiters.filter((w) => {
      if (!all && !this.taken(w.mark)) return true;
      w.resolve(w.written);
      return false;
    });
  }

  /** Writes transactions one after another until no waiter is left. */
  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        this.settle(false);
        // What record() would have started meanwhile (it starts nothing while a run goes on).
        if (!this.waiters.length && this.full()) this.waiters.push({ mark: this.seq, urgent: false, written: 0, resolve: () => {} });
        // (`running` turns false in the same microtask as this check: a flush() after it starts a new run.)
        if (!this.waiters.length) return;
        const tx = await this.writeBatch();
        for (const w of this.waiters) w.written += tx.written;
        if (tx.stop) return this.settle(true);
      }
    } catch (e) {
      // A fault of ours (a flush never throws otherwise): no waiter is left hanging, and the
      // process's last resort reports it.
      this.settle(true);
      queueMicrotask(() => {
        throw e;
      });
    } finally {
      this.running = false;
    }
  }

  /**
   * Takes rows and lines from the front of the buffer into `rows` and `logs` and writes them in
   * this transaction, a piece at a time with a yield to the event loop in between: each piece
   * rowsThisTurn of what waits then, full groups of rows through the multi-row insert, the rest
   * one by one. Goes on while calls keep adding rows; ends (and the transaction commits) after
   * a turn that found none, at ROWS_PER_TX rows or lines, after TX_OPEN_MS, once a reader's
   * rows are all in it, or to hand the gate to a waiting writer (see the module comment).
   */
  private async writeTaking(tx: Tx, rows: InvocationInsert[], logs: LogInsert[]): Promise<void> {
    const s = statementsOf(tx);
    const pg = dialect() === "postgres";
    const opened = performance.now();
    let waited = 0;
    for (let turn = 0; ; turn++) {
      if (turn > 0) {
        await nextTurn();
        if (this.readerServed()) return;
        waited = (this.db.writersWaiting?.() ?? 0) > 0 ? waited + 1 : 0;
        if (waited) this.contendedAt = performance.now();
        // A writer waits (a kv write, a deploy): the log hands the gate over at once, unless it is
        // behind (a full piece waits): then it keeps the gate HANDOVER_TURNS turns, since handed
        // over after every piece it wrote less than calls add while other writers' transactions
        // span turns. (Holding the gate four turns for every kv write measured 0.90–0.92x on
        // `--kv-write` /apps.)
        const behind = this.rows.length >= MAX_ROWS_PER_TURN || this.logs.length >= MAX_ROWS_PER_TURN;
        if (waited >= HANDOVER_TURNS || (waited > 0 && !behind)) return;
        if (performance.now() - opened >= TX_OPEN_MS) return;
      }
      const roomRows = Math.min(ROWS_PER_TX - rows.length, this.rows.length);
      const roomLogs = Math.min(ROWS_PER_TX - logs.length, this.logs.length);
      if (rows.length >= ROWS_PER_TX || logs.length >= ROWS_PER_TX) return;
      // Nothing buffered: the transaction waits up to IDLE_MS for the calls in flight to add
      // rows (under load they do, and it goes on instead of committing a few rows), then ends.
      // It waits for record() or flush(), not turn after turn: an event loop with nothing
      // else to do sleeps instead of spinning on setImmediate (on two cores, CPU the sandbox
      // workers need).
      if (roomRows <= 0 && roomLogs <= 0) {
        // Other writers want the gate often (kv writes on every call): no waiting with it held.
        if (performance.now() - this.contendedAt < CONTENDED_MS) return;
        if (!(await this.nextArrival(IDLE_MS))) return;
        continue;
      }
      // A writer waiting for the gate: a piece as large as a turn may write, so the transaction
      // that ends for it has written as much as it can (commits stay few while writers queue).
      const n = pg || (this.db.writersWaiting?.() ?? 0) > 0 ? MAX_ROWS_PER_TURN : rowsThisTurn(Math.max(this.rows.length, this.logs.length));
      const from = rows.length;
      for (const r of this.rows.splice(0, Math.min(n, roomRows))) rows.push(r);
      const fromLogs = logs.length;
      for (const l of this.logs.splice(0, Math.min(n, roomLogs))) logs.push(l);
      // SQLite's statements run synchronously and return nothing: no await (a microtask) per statement there.
      let p: Promise<void> | void;
      let i = from;
      for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) if ((p = s.rows(rows, i))) await p;
      for (; i < rows.length; i++) if ((p = s.row(rows[i]!))) await p;
      for (let j = fromLogs; j < logs.length; j++) if ((p = s.log(logs[j]!))) await p;
    }
  }

  /** One transaction (writeTaking); `stop` after a passing failure, the buffer kept for a later flush. */
  private async writeBatch(): Promise<{ written: number; stop: boolean }> {
    const rows: InvocationInsert[] = [];
    const logs: LogInsert[] = [];
    let began = false;
    try {
      const written = await this.db.tx(async (tx) => {
        // Taken under the gate, a piece at a time (see the module comment): `rows` and `logs`
        // hold everything this transaction took, so a failure requeues or retries all of it.
        began = true;
        await this.writeTaking(tx, rows, logs);
        return rows.length;
      });
      return { written, stop: false };
    } catch (e) {
      // A passing failure (busy, I/O) would fail every row alike, each after the busy
      // timeout: the whole buffer (this transaction's rows included) waits for the next flush,
      // one attempt counted for each row, instead of trying row by row.
      if (!isPermanentWriteError(e)) {
        const all = { rows: [...rows, ...this.rows], logs: [...logs, ...this.logs] };
        this.rows = [];
        this.logs = [];
        this.keepForLater(all.rows, all.logs, e);
        return { written: 0, stop: true };
      }
      if (!began) return { written: 0, stop: true }; // (a permanent error before BEGIN: nothing was taken)
      return this.flushRowByRow(rows, logs);
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

  /** Calls onDropped; a callback that throws is reported to the process's last resort and does not stop the flush. */
  private reportDropped(rows: number, reason: string): void {
    try {
      this.opts.onDropped?.(rows, reason);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /**
   * After a constraint failure: each row alone, in one transaction; the ones that break a
   * constraint are dropped. `stop` when the database failed for a passing reason: the rows not
   * written are kept. Drops are reported and rows requeued only once the transaction has
   * settled (requeued inside it, rows a failed COMMIT then requeued again were written twice).
   */
  private async flushRowByRow(rows: InvocationInsert[], logs: LogInsert[]): Promise<{ written: number; stop: boolean }> {
    let r: Awaited<ReturnType<InvocationLog["rowByRow"]>>;
    try {
      r = await this.db.tx((tx) => this.rowByRow(tx, rows, logs));
    } catch (e) {
      this.keepForLater(rows, logs, e);
      return { written: 0, stop: true };
    }
    if (r.dropped) this.reportDropped(r.dropped, r.reason);
    if (r.failed) this.keepForLater(r.later.rows, r.later.logs, r.passing);
    return { written: r.written, stop: r.failed };
  }

  /** Inserts each row and line alone (a statement that breaks a constraint is undone alone, the others stay); after a passing failure the rest go to `later`, untried. */
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
