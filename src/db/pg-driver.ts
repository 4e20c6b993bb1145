/**
 * The one file that knows cantrip's PostgreSQL client (cluster mode; see docs/ARCHITECTURE.md
 * "PostgreSQL (cluster mode)"): Bun's built-in `Bun.SQL` through `drizzle-orm/bun-sql`, so a
 * switch to `postgres` + `drizzle-orm/postgres-js` stays local to this file. It opens a pool
 * from a `postgres://` URL (the value `CANTRIP_DATABASE_URL` will carry), applies the embedded
 * PostgreSQL migrations under a session advisory lock (two nodes starting on an empty
 * database would otherwise race on CREATE TABLE), and wraps LISTEN/NOTIFY. Bun.SQL's own
 * correctness on this Bun is checked by test/db/pg-driver.test.ts.
 */
import { createHash } from "node:crypto";
import type { SQL } from "bun";
import { sql } from "drizzle-orm";
import { drizzle, type BunSQLDatabase } from "drizzle-orm/bun-sql";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { parseDatabaseUrl } from "../config/load";
import * as pgSchema from "./schema.pg";
import { migrations } from "./migrations-pg/embedded";

/** A drizzle database on a Bun.SQL pool, with the PostgreSQL twin schema. */
export type PgDb = BunSQLDatabase<typeof pgSchema> & { $client: SQL };

/** Anything drizzle's pg-core can run a statement on: the pool's db or an open transaction. */
export type PgExecutor = Pick<PgDatabase<PgQueryResultHKT, Record<string, unknown>>, "execute">;

/** An open pool: drizzle over it for queries, the pool itself for what drizzle has no API for. */
export interface PgConnection {
  db: PgDb;
  /** The Bun.SQL pool under `db` (for LISTEN, advisory locks and raw driver checks). */
  client: SQL;
  /** Closes the pool and any LISTEN connection (waits up to `timeoutSec` for running queries). */
  close(timeoutSec?: number): Promise<void>;
}

/** How openPostgres sizes and configures the pool. */
export interface PgOptions {
  /** Pool size (connections); LISTEN uses one more of its own. Default 10. */
  poolMax?: number;
  /**
   * Named prepared statements (Bun.SQL's default, true). false is the stop-gap for Bun
   * versions with the prepared-statement routing bugs (oven-sh/bun#33665, #30494) and for
   * PgBouncer in transaction mode.
   */
  prepare?: boolean;
}

// The URL check lives with the settings (src/config/load.ts), so loading the config does not load
// this driver; it is exported here too, for the driver's users.
export { parseDatabaseUrl };

/** Migrations and first-start bootstrap serialise on this session advisory lock. */
export const MIGRATION_LOCK = "cantrip.migrate";

/** Opens a pool on `url` (checked by parseDatabaseUrl) with drizzle over it. Connects lazily. */
export function openPostgres(url: string, opts: PgOptions = {}): PgConnection {
  // Bun.SQL is read here, not imported: reading it loads bun:sql (~3 ms), which SQLite mode never needs.
  const client = new Bun.SQL({ url: parseDatabaseUrl(url), max: opts.poolMax ?? 10, prepare: opts.prepare ?? true });
  const db = drizzle({ client, schema: pgSchema }) as PgDb;
  return { db, client, close: (timeoutSec = 5) => client.close({ timeout: timeoutSec }) };
}

/**
 * Runs `fn` holding the session advisory lock `name` (`pg_advisory_lock(hashtextextended(name, 0))`)
 * on a connection reserved from `client`, which `fn` receives; unlocks and releases after.
 * Waits as long as another session holds the lock. A session lock needs one connection
 * throughout, hence the reservation (not usable through a transaction-mode PgBouncer).
 */
export async function withSessionLock<T>(client: SQL, name: string, fn: (conn: SQL) => Promise<T>): Promise<T> {
  const conn = await client.reserve();
  try {
    await conn`select pg_advisory_lock(hashtextextended(${name}, 0))`;
    try {
      return await fn(conn);
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${name}, 0))`;
    }
  } finally {
    conn.release();
  }
}

/**
 * Applies the embedded PostgreSQL migrations (drizzle's bookkeeping table
 * `drizzle.__drizzle_migrations`, all pending ones in one transaction) under MIGRATION_LOCK,
 * so concurrent callers on one database apply each migration once. Returns how many this
 * call applied.
 */
export async function migratePostgres(client: SQL): Promise<number> {
  return withSessionLock(client, MIGRATION_LOCK, async (conn) => {
    const before = await appliedCount(conn);
    await applyMigrationsUnlocked(conn);
    return (await appliedCount(conn)) - before;
  });
}

/**
 * drizzle's pg migrator over the embedded migrations, without the lock: what migratePostgres
 * runs once it holds it. Exported for bench/pg.ts, which measures how two unlocked
 * migrators on an empty database fail.
 */
export async function applyMigrationsUnlocked(conn: SQL): Promise<void> {
  const metas = migrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
  const db = drizzle({ client: conn }) as unknown as { dialect: { migrate: Function }; session: unknown };
  await db.dialect.migrate(metas, db.session, { migrationsFolder: "" });
}

async function appliedCount(conn: SQL): Promise<number> {
  const [row] = await conn`select to_regclass('drizzle.__drizzle_migrations') is not null as present`;
  if (!row.present) return 0;
  const [{ n }] = await conn`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return n as number;
}

/** True when every embedded PostgreSQL migration has been applied (for /readyz). */
export async function isPostgresMigrated(client: SQL): Promise<boolean> {
  try {
    return (await appliedCount(client)) >= migrations.length;
  } catch {
    return false;
  }
}

/**
 * Queues a notification on `channel` from inside `tx` (`pg_notify`): PostgreSQL delivers it
 * to listeners when the transaction commits and drops it when it rolls back. Payloads are
 * limited to 8000 bytes by the server.
 */
export async function notify(tx: PgExecutor, channel: string, payload: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${channel}, ${payload})`);
}

/**
 * Subscribes to `channel` on the pool's dedicated LISTEN connection (Bun.SQL `listen`, Bun
 * 1.4.5: reconnects with backoff and re-subscribes by itself). `onListen` runs on the first
 * subscription and after every reconnect: notifications sent while disconnected are lost,
 * so a caller must treat it as "resync". Resolves once the server acknowledged the LISTEN.
 */
export async function listen(
  client: SQL,
  channel: string,
  onPayload: (payload: string) => void,
  onListen?: () => void,
): Promise<{ unlisten(): Promise<void> }> {
  const sub = await client.listen(channel, onPayload, onListen);
  return { unlisten: () => sub.unlisten() };
}
