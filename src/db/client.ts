/**
 * Opens the one SQLite file cantrip keeps its state in, with the pragmas every connection
 * needs (WAL, busy timeout, foreign keys), and applies the embedded migrations. Only the
 * composition root calls openDatabase; everything else receives the Db it returns.
 */
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { SQLiteTransaction } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";
import { migrations } from "./migrations/embedded";
import { ensurePrivateDir, ensurePrivateFile, type ModeWarning } from "../lib/private-files";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** An open transaction on the Db: what `db.transaction((tx) => …)` hands its callback. */
export type Tx = SQLiteTransaction<"sync", void, typeof schema, ExtractTablesWithRelations<typeof schema>>;

/**
 * The database handle or an open transaction on it. Helpers that only read and write rows
 * take this, so a caller can run them inside its own transaction without a cast (both share
 * drizzle's `BaseSQLiteDatabase` query API; only `Db` has `$client` and `transaction`).
 */
export type DbOrTx = Db | Tx;

export interface OpenedDatabase {
  db: Db;
  sqlite: Database;
  /** True when this open converted an existing file to auto_vacuum=INCREMENTAL (a one-time VACUUM). */
  convertedToIncrementalVacuum: boolean;
  close(): void;
}

/** The WAL file is truncated back to this size after a checkpoint (bytes). */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

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
export function openDatabase(file: string, opts: { busyTimeoutMs?: number; warn?: ModeWarning } = {}): OpenedDatabase {
  if (file !== ":memory:") {
    ensurePrivateDir(dirname(file), opts.warn);
    databaseFiles(file).forEach((f, i) => ensurePrivateFile(f, opts.warn, { create: i === 0 }));
  }
  const sqlite = new Database(file, { create: true, strict: true });
  sqlite.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  const convertedToIncrementalVacuum = ensureIncrementalVacuum(sqlite);
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  sqlite.exec("PRAGMA foreign_keys = ON");
  sqlite.exec("PRAGMA synchronous = NORMAL");
  const db = drizzle({ client: sqlite, schema }) as Db;
  migrate(db);
  return { db, sqlite, convertedToIncrementalVacuum, close: () => sqlite.close() };
}

/** Applies embedded migrations with drizzle's own bookkeeping table (__drizzle_migrations). */
export function migrate(db: Db): void {
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

/** True when every embedded migration has been applied (for /readyz). */
export function isMigrated(sqlite: Database): boolean {
  try {
    const row = sqlite.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    return row.n >= migrations.length;
  } catch {
    return false;
  }
}
