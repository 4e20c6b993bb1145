/**
 * The write gate: every write transaction of the process runs here, one at a time, on the
 * one writer connection. SQLite has one transaction per connection, so two asynchronous
 * "transactions" sharing a connection interleave: an awaited statement of one request runs
 * inside another's open transaction, and a rollback takes the other's rows with it (the
 * trap in ../shared/notes/scale-out.md §2.4; test/db/write-gate.test.ts reproduces it).
 * The gate is an async mutex in front of `BEGIN IMMEDIATE … COMMIT`, so a transaction may
 * await (other reads, other work) without anyone else's statement landing in it; reads
 * outside a transaction go to their own connection and see committed rows only (WAL).
 *
 * A `tx()` called inside an open transaction (a service that writes, called by another
 * that already holds the gate) joins it through a SAVEPOINT instead of waiting for itself.
 * Callbacks registered with `onCommit` run after COMMIT, before the gate is released and
 * before `tx()` resolves; a rollback (of the transaction or of a joined savepoint) drops
 * the ones registered inside it. The change bus delivers through them. Some errors
 * (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) roll SQLite's whole transaction back, not just
 * the statement: then the failing savepoint's error fails every later savepoint of the
 * transaction and the transaction itself (had they run, each would have committed on its
 * own, outside any transaction: kv's group commit puts several agents' writes in one).
 *
 * Another process (or another Db on the same file) may hold the file's write lock. Waiting
 * for it inside SQLite (busy_timeout) would block the event loop while this process holds
 * nothing to wait for, and, with two Dbs on one file in one process, deadlock until the
 * timeout. So the writer connection has no busy timeout; BEGIN IMMEDIATE and COMMIT that
 * answer "busy" are retried here, asynchronously, with a short backoff, until `busyTimeoutMs`.
 *
 * Driver-neutral: the connection is given as the SQL it must run (`exec`).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { rethrowLater } from "../lib/rethrow-later";

/** What the gate needs of the writer connection: run one statement with no result. */
export interface GateConnection {
  exec(sql: string): void;
  /**
   * False once the connection has no open transaction (bun:sqlite's Database has it). Some
   * errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) make SQLite roll back the whole
   * transaction, not just the failing statement; the gate reads this after a joined
   * savepoint fails to know whether the transaction is still there. Absent: assumed open.
   */
  readonly inTransaction?: boolean;
}

interface Open {
  /** False once the outermost transaction has committed or rolled back. */
  open: boolean;
  hooks: (() => void)[];
  depth: number;
  /**
   * Set when a joined savepoint's error made SQLite roll back the whole transaction: the
   * savepoints after it would run in autocommit (each committed at once), so they fail with
   * it instead, and so does the transaction.
   */
  lost?: { error: unknown };
}

export interface GateOptions {
  /** True when `e` means "another connection holds the lock; try again" (SQLITE_BUSY). */
  isBusy?: (e: unknown) => boolean;
  /** How long BEGIN and COMMIT keep retrying a busy database, in ms (default 5000). */
  busyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A minimal FIFO async mutex: `acquire()` resolves with the release function. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    this.waiting++;
    return prev.then(() => {
      this.waiting--;
      return release;
    });
  }

  /** Transactions waiting for the gate (for diagnostics and tests). */
  get queued(): number {
    return this.waiting;
  }
}

/**
 * Runs a committed transaction's `onCommit` callbacks in order; one that throws is rethrown
 * on a microtask (to the process's last resort) and does not stop the others. Shared by the
 * SQLite gate and the PostgreSQL data layer (pg-client.ts).
 */
export function runCommitHooks(hooks: readonly (() => void)[]): void {
  for (const h of hooks) {
    try {
      h();
    } catch (e) {
      rethrowLater(e);
    }
  }
}

export class WriteGate<T> {
  private mutex = new Mutex();
  private als = new AsyncLocalStorage<Open>();
  private savepoints = 0;

  /**
   * `conn` runs BEGIN/COMMIT/ROLLBACK/SAVEPOINT; `handle(register)` builds what the
   * transaction callback receives (given the current transaction's onCommit registrar).
   */
  constructor(
    private conn: GateConnection,
    private handle: (onCommit: (fn: () => void) => void) => T,
    private opts: GateOptions = {},
  ) {}

  /** Runs BEGIN IMMEDIATE or COMMIT, retrying asynchronously while the database is busy. */
  private async execRetrying(sql: string): Promise<void> {
    const deadline = Date.now() + (this.opts.busyTimeoutMs ?? 5000);
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        this.conn.exec(sql);
        return;
      } catch (e) {
        if (!this.opts.isBusy?.(e) || Date.now() >= deadline) throw e;
      }
      await sleep(wait);
    }
  }

  /** True while the calling async context is inside an open transaction. */
  inTransaction(): boolean {
    return this.als.getStore()?.open === true;
  }

  /** Transactions waiting for the gate. */
  get queued(): number {
    return this.mutex.queued;
  }

  /**
   * Runs `fn` in a write transaction (`BEGIN IMMEDIATE`), committing when it resolves and
   * rolling back when it throws (the error is rethrown). Inside an open transaction, joins it
   * through a savepoint. Keep `fn` short: every other writer of the process waits for it.
   */
  async tx<R>(fn: (t: T) => Promise<R> | R): Promise<R> {
    const outer = this.als.getStore();
    if (outer?.open) return this.nested(outer, fn);
    const release = await this.mutex.acquire();
    const state: Open = { open: true, hooks: [], depth: 0 };
    try {
      await this.execRetrying("BEGIN IMMEDIATE");
      let result: R;
      try {
        result = await this.als.run(state, () => fn(this.handle((h) => state.hooks.push(h))));
        if (state.lost) throw state.lost.error; // SQLite rolled it back already: nothing to commit
        await this.execRetrying("COMMIT"); // a busy COMMIT leaves the transaction open: retrying is allowed
      } catch (e) {
        state.open = false;
        try {
          this.conn.exec("ROLLBACK");
        } catch {
          // SQLite already rolled back (e.g. after SQLITE_FULL); nothing is open.
        }
        throw e;
      }
      state.open = false;
      runCommitHooks(state.hooks);
      return result;
    } finally {
      state.open = false;
      release();
    }
  }

  private async nested<R>(state: Open, fn: (t: T) => Promise<R> | R): Promise<R> {
    // Outside a transaction, SAVEPOINT … RELEASE would commit on its own (not when the outer tx() does).
    if (state.lost) throw state.lost.error;
    const name = `sp_${++this.savepoints}`;
    const mark = state.hooks.length;
    this.conn.exec(`SAVEPOINT ${name}`);
    state.depth++;
    try {
      const r = await fn(this.handle((h) => state.hooks.push(h)));
      this.conn.exec(`RELEASE ${name}`);
      return r;
    } catch (e) {
      if (state.open && !state.lost && this.conn.inTransaction === false) state.lost = { error: e };
      if (state.open && !state.lost) {
        this.conn.exec(`ROLLBACK TO ${name}`);
        this.conn.exec(`RELEASE ${name}`);
      }
      state.hooks.length = mark;
      throw e;
    } finally {
      state.depth--;
    }
  }
}
