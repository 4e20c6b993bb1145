/**
 * Opens the data layer the configuration names: the SQLite file in the data dir (one node,
 * the default) or, when a `postgres://` URL is given, the PostgreSQL database several nodes
 * share (cluster mode). Both answer the same `Db`; what differs is gathered here so the
 * composition root (boot.ts) does not branch on the dialect: the writer connection SQLite
 * tests and offline tools need, the database's size, and how it is closed.
 */
import { statSync } from "node:fs";
import { openDatabase, databaseFiles, type Db } from "./client";
import type { ModeWarning } from "../lib/private-files";
import type { Dialect } from "./schema";

/** An open data layer, whichever the dialect. */
export interface Store {
  db: Db;
  dialect: Dialect;
  /** SQLite only: the file's writer connection (tests and offline tools); null on PostgreSQL. */
  sqlite: import("bun:sqlite").Database | null;
  /** The SQLite file, or null on PostgreSQL. */
  file: string | null;
  /** True when this open converted an existing SQLite file to auto_vacuum=INCREMENTAL. */
  convertedToIncrementalVacuum: boolean;
  /** How many PostgreSQL migrations this open applied (0 on SQLite). */
  migrationsApplied: number;
  /** The database's size in bytes: the file and its WAL on SQLite, `pg_database_size` on PostgreSQL. */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

/** Where the data lives and how to report on it. */
export interface StoreOptions {
  /** The SQLite file (used when `url` is empty). */
  file: string;
  /** A postgres:// URL (cluster mode), or empty for SQLite. */
  url?: string;
  /** PostgreSQL pool size per node. */
  poolMax?: number;
  /** This node's id (the PostgreSQL bus names its messages with it). */
  nodeId?: string;
  warn?: ModeWarning;
  onBusError?: (e: unknown, topic: string) => void;
  /** SQLite: checkpoint the WAL from a worker, not on the main thread's commits (db/checkpointer.ts); `onFailure` hears if that worker fails. */
  checkpointInBackground?: { onFailure(message: string): void };
}

/** Opens the store `opts` names; throws the driver's error (the caller words it for the operator). */
export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.url) {
    // Loaded only in cluster mode: a single node never pays for the PostgreSQL client.
    const { openPostgresDb } = await import("./pg-client");
    const { queryRow } = await import("./raw");
    const { sql } = await import("drizzle-orm");
    const pg = await openPostgresDb(opts.url, { poolMax: opts.poolMax, nodeId: opts.nodeId, onBusError: opts.onBusError });
    return {
      db: pg.db,
      dialect: "postgres",
      sqlite: null,
      file: null,
      convertedToIncrementalVacuum: false,
      migrationsApplied: pg.migrationsApplied,
      sizeBytes: async () => Number((await queryRow<{ n: string | number }>(pg.db, sql`select pg_database_size(current_database()) as n`))?.n ?? 0),
      close: () => pg.close(),
    };
  }
  const opened = openDatabase(opts.file, { warn: opts.warn, onBusError: opts.onBusError, checkpointInBackground: opts.checkpointInBackground });
  return {
    db: opened.db,
    dialect: "sqlite",
    sqlite: opened.sqlite,
    file: opts.file,
    convertedToIncrementalVacuum: opened.convertedToIncrementalVacuum,
    migrationsApplied: 0,
    sizeBytes: async () => fileBytes(opts.file),
    close: async () => opened.close(),
  };
}

/** The SQLite file and its WAL companions' total size in bytes (0 for a file not there). */
function fileBytes(file: string): number {
  let total = 0;
  for (const f of databaseFiles(file)) {
    try {
      total += statSync(f).size;
    } catch {
      // not there (e.g. no WAL yet)
    }
  }
  return total;
}
