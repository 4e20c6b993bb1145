/**
 * The SQLite driver: with raw.ts (raw statements) and files.ts (offline file tools), the only
 * code that knows `bun:sqlite` and drizzle's bun-sqlite driver (issue 18 swaps in a Postgres
 * twin behind the same `Db`). It opens the one file cantrip
 * keeps its state in with two connections: a writer, owned by the write gate (gate.ts),
 * on which every write transaction runs one at a time (`BEGIN IMMEDIATE`); and a reader,
 * refused writes (`PRAGMA query_only`), on which every read outside a transaction runs and
 * sees committed rows only (WAL). It applies the embedded migrations and wires the change
 * bus (bus.ts) to the gate's commit hooks. Only the composition root calls openDatabase;
 * everything else receives the `Db` it returns and uses it asynchronously:
 *
 * - reads: `await db.select()…` (an awaited query builder; never `.get()/.all()/.run()/
 *   .values()`, which are synchronous and do not exist on Postgres);
 * - writes: `await db.tx(async (t) => { await t.insert(…)…; t.publish(topic, payload) })`;
 * - raw SQL: `queryRows(db, sql\`…\`)` / `execute(t, sql\`…\`)` from raw.ts.
 *
 * test/db/no-sync-calls.test.ts fails on a synchronous driver call anywhere outside src/db.
 */
import { startCheckpointer } from "./checkpointer";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { sql } from "drizzle-orm";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import * as schema from "./schema.sqlite";
import { migrations } from "./migrations/embedded";
import { ensurePrivateDir, ensurePrivateFile, type ModeWarning } from "../lib/private-files";
import { WriteGate } from "./gate";
import { LocalBus, type BusSubscriber, type Topic, type Topics } from "./bus";
import { queryRow } from "./raw";
import { dialect, useDialect, type Dialect } from "./schema";
import { migrations as pgMigrations } from "./migrations-pg/embedded";

type Drizzle = BunSQLiteDatabase<typeof schema>;
/** drizzle's synchronous entry points, and its transaction (the trap): only src/db uses them. */
type SyncOnly = "transaction" | "$client" | "run" | "all" | "get" | "values";

/** Reads: drizzle's query API without writes and without the synchronous entry points. */
export type Reader = Omit<Drizzle, SyncOnly | "insert" | "update" | "delete">;

/** An open write transaction (what `db.tx` hands its callback). */
export interface Tx extends Omit<Drizzle, SyncOnly> {
  /** Announces a change on the bus: delivered once this transaction commits, dropped if it rolls back. */
  publish<K extends Topic>(topic: K, payload: Topics[K]): void;
  /** Runs `fn` after this transaction commits (before `tx()` resolves); dropped on rollback. */
  onCommit(fn: () => void): void;
  /**
   * Serialises this transaction with every other one that locks `name`, until it ends: a
   * transaction-scoped advisory lock on PostgreSQL (`pg_advisory_xact_lock`), where
   * transactions of all nodes run concurrently; nothing on SQLite, where the write gate
   * already runs one transaction at a time. Take it before the reads a write depends on
   * (check-then-insert, a quota), with a name per aggregate (e.g. `kv:<agentId>`).
   */
  lock(name: string): Promise<void>;
}

/**
 * Something rows can be read from: the database or an open transaction (whose reads see
 * its own uncommitted writes). Helpers that only read take this; helpers that write take `Tx`.
 */
export type DbOrTx = Reader | Tx;

/** The data layer every module uses. */
export interface Db extends Reader {
  /** Runs `fn` in a write transaction through the gate (see gate.ts); joins an open one. */
  tx<R>(fn: (t: Tx) => Promise<R> | R): Promise<R>;
  /** Subscribe to committed changes (see bus.ts). */
  readonly bus: BusSubscriber;
  /** Tells every subscriber to drop what it cached (bus.ts `resync`). */
  resync(): void;
}

export interface OpenedDatabase {
  db: Db;
  /**
   * The writer connection itself, for tests and offline tools (backup, restore) only: the
   * server never touches it outside src/db.
   */
  sqlite: Database;
  /** True when this open converted an existing file to auto_vacuum=INCREMENTAL (a one-time VACUUM). */
  convertedToIncrementalVacuum: boolean;
  close(): void;
}

/**
 * A WAL file larger than this (bytes) is truncated once copied: by SQLite on the writer's
 * first commit after the WAL starts over (`journal_size_limit`), or, with the background
 * checkpointer, by its worker, to zero bytes (checkpointer.ts).
 */
export const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * Puts the file in auto_vacuum=INCREMENTAL mode, so retention can hand free pages back to
 * the file system (`PRAGMA incremental_vacuum`). The mode only takes effect on a file with
 * no tables yet, or through a VACUUM: a new file gets it for free, a file created by an
 * older cantrip is rebuilt once (returns true then).
 */
function ensureIncrementalVacuum(sqlite: Database): boolean {
  const mode = (sqlite.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum;
  if (mode === 2) return false;
  // Counted before the pragma: setting it on an empty file already writes page 1.
  const pages = (sqlite.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  sqlite.exec("PRAGMA auto_vacuum = INCREMENTAL");
  if (pages === 0) return false;
  sqlite.exec("VACUUM");
  return true;
}

/** The database file and its WAL companions, whose modes follow the main file's. */
export const databaseFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`];

/**
 * Opens (creating when missing) the database at `file` in a private (0700) folder, with the
 * file and its -wal/-shm at 0600: SQLite gives the companions the main file's mode, so the
 * main file is created 0600 before SQLite sees it. Looser modes are tightened through `warn`.
 */
export function openDatabase(
  file: string,
  opts: {
    /** How long a write waits for another connection's write lock, in ms (default 5000). */
    busyTimeoutMs?: number;
    warn?: ModeWarning;
    /** A bus subscriber threw (default: rethrown asynchronously, to the last-resort handler). */
    onBusError?: (e: unknown, topic: string) => void;
    /**
     * Checkpoint the WAL from a worker instead of on the writer's commits (checkpointer.ts;
     * the server sets it). `onFailure` hears why, if the worker fails (commits checkpoint again).
     */
    checkpointInBackground?: { onFailure(message: string): void };
  } = {},
): OpenedDatabase {
  if (file !== ":memory:") {
    ensurePrivateDir(dirname(file), opts.warn);
    databaseFiles(file).forEach((f, i) => ensurePrivateFile(f, opts.warn, { create: i === 0 }));
  }
  const busy = `PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`;
  // The process's queries name the SQLite tables from here on (schema.ts).
  useDialect("sqlite");
  const sqlite = new Database(file, { create: true, strict: true });
  sqlite.exec(busy);
  const convertedToIncrementalVacuum = ensureIncrementalVacuum(sqlite);
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  sqlite.exec("PRAGMA foreign_keys = ON");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  const writer = drizzle({ client: sqlite, schema });
  migrate(writer);
  // After the migrations (their commits may checkpoint as usual): the file exists for the worker to open.
  const checkpointer = opts.checkpointInBackground && file !== ":memory:" ? startCheckpointer(file, sqlite, opts.checkpointInBackground.onFailure, JOURNAL_SIZE_LIMIT) : null;
  // An in-memory database exists once per connection: there the reader is the writer, and a
  // read outside a transaction can see an open transaction's rows (tests only).
  const readConn = file === ":memory:" ? sqlite : new Database(file, { strict: true });
  if (readConn !== sqlite) {
    readConn.exec(busy);
    readConn.exec("PRAGMA query_only = 1");
  }
  const reader = drizzle({ client: readConn, schema });
  const bus = new LocalBus(opts.onBusError);
  // The gate waits for other writers asynchronously (gate.ts): no busy wait inside SQLite.
  sqlite.exec("PRAGMA busy_timeout = 0");
  const gate = new WriteGate<Tx>(
    sqlite,
    (onCommit) =>
      Object.assign(Object.create(writer) as Tx, {
        onCommit,
        lock: () => Promise.resolve(),
        publish: <K extends Topic>(topic: K, payload: Topics[K]) => onCommit(() => bus.deliver(topic, payload)),
      }),
    { isBusy: isBusyError, busyTimeoutMs: opts.busyTimeoutMs ?? 5000 },
  );
  const db = Object.assign(Object.create(reader) as Db, {
    tx: <R>(fn: (t: Tx) => Promise<R> | R) => gate.tx(fn),
    bus,
    resync: () => bus.resync(),
  });
  return {
    db,
    sqlite,
    convertedToIncrementalVacuum,
    close: () => {
      checkpointer?.stop();
      if (readConn !== sqlite) readConn.close();
      sqlite.close();
    },
  };
}

/** SQLITE_BUSY and its extended codes (another connection holds the lock), or bun:sqlite's "database is locked" message without a code. */
export function isBusyError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" ? code.startsWith("SQLITE_BUSY") : /database is locked/i.test(String((e as Error)?.message));
}

/** Applies embedded migrations with drizzle's own bookkeeping table (__drizzle_migrations). */
function migrate(db: Drizzle): void {
  const metas = migrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
  // drizzle's dialect.migrate runs every pending migration in one transaction.
  (db as unknown as { dialect: { migrate: Function }; session: unknown }).dialect.migrate(
    metas,
    (db as unknown as { session: unknown }).session,
    { migrationsFolder: "" },
  );
}

/** True when every embedded migration has been applied (for /readyz); false when the table is missing. */
export async function isMigrated(db: DbOrTx): Promise<boolean> {
  try {
    if (dialect() === "postgres") {
      const row = await queryRow<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      return (row?.n ?? 0) >= pgMigrations.length;
    }
    const row = await queryRow<{ n: number }>(db, sql`SELECT count(*) AS n FROM __drizzle_migrations`);
    return (row?.n ?? 0) >= migrations.length;
  } catch {
    return false;
  }
}
