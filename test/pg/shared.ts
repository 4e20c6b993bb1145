/**
 * PostgreSQL for tests: one server per test process (a throwaway cluster from
 * test/pg/cluster.ts, or the server in `CANTRIP_TEST_DATABASE_URL` when set, e.g. by
 * scripts/pg-throwaway.ts), a migrated template database created once, and a fresh
 * database per test server cloned from it (`CREATE DATABASE … TEMPLATE`).
 *
 * Skipping: tests that need PostgreSQL use `describePg`, which skips them with one clear
 * line only when the binaries are absent AND `CI` is unset. In CI (`.ci/run` sets CI=true;
 * scripts/ci-prepare.sh installs the postgresql package) they always run, so a missing
 * server fails the build instead of silently skipping.
 */
import { createHash, randomBytes } from "node:crypto";
import { SQL } from "bun";
import { describe } from "bun:test";
import { migratePostgres, withSessionLock } from "../../src/db/pg-driver";
import { migrations } from "../../src/db/migrations-pg/embedded";
import { findPgBin, startPgCluster } from "./cluster";

/**
 * Why PostgreSQL tests cannot run here, or null when they must run: they run when
 * `CANTRIP_TEST_DATABASE_URL` is set, when the binaries are installed, and always when `CI`
 * is set (a missing server then fails loudly in startPgCluster).
 */
export function pgSkipReason(env: Record<string, string | undefined> = process.env): string | null {
  if (env.CANTRIP_TEST_DATABASE_URL || findPgBin(env) || env.CI) return null;
  return "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, CANTRIP_PG_BIN or CANTRIP_TEST_DATABASE_URL): skipping the PostgreSQL tests; CI installs it (scripts/ci-prepare.sh) and never skips them";
}

let warned = false;
/** `describe` for tests that need PostgreSQL: skipped with a one-line message when pgSkipReason says so. */
export function describePg(name: string, fn: () => void): void {
  const reason = pgSkipReason();
  if (reason && !warned) {
    warned = true;
    console.warn(`[skip] ${reason}`);
  }
  (reason ? describe.skip : describe)(name, fn);
}

interface Server {
  /** The same server and credentials, another database. */
  urlFor(database: string): string;
  /** A small pool on the maintenance database, for CREATE/DROP DATABASE. */
  admin: SQL;
}

let server: Promise<Server> | undefined;

/** The test process's PostgreSQL server (started on first use, stopped when the process exits). */
export function pgServer(): Promise<Server> {
  server ??= (async () => {
    const external = process.env.CANTRIP_TEST_DATABASE_URL;
    let urlFor: (db: string) => string;
    if (external) {
      urlFor = (db) => {
        const u = new URL(external);
        u.pathname = `/${encodeURIComponent(db)}`;
        return u.toString();
      };
    } else {
      const cluster = startPgCluster();
      // `bun test` emits no "exit" event; the cluster's watchdog stops the server then.
      process.once("exit", cluster.stop);
      urlFor = cluster.urlFor;
    }
    const admin = new SQL({ url: external ?? urlFor("cantrip"), max: 2 });
    return { urlFor, admin };
  })();
  return server;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A database on the test server: its URL, and drop() (forcibly disconnects anyone left). */
export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database (no migrations), e.g. for migration and boot-race tests. */
export async function emptyDatabase(prefix = "t_"): Promise<TestDatabase> {
  const { admin, urlFor } = await pgServer();
  const name = `${prefix}${randomBytes(6).toString("hex")}`;
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
  return handle(admin, name, urlFor(name));
}

function handle(admin: SQL, name: string, url: string): TestDatabase {
  return { name, url, drop: async () => void (await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)) };
}

/** The template's name: it changes with the migrations, so a stale template on a shared server is never used. */
export const templateName = () =>
  `cantrip_tpl_${createHash("sha256").update(migrations.map((m) => m.sql).join("\n")).digest("hex").slice(0, 12)}`;

let template: Promise<string> | undefined;

/**
 * Creates the migrated template once per server: built under another name, then renamed, so
 * a half-built template (a crashed run on a shared server) is never cloned; creation is
 * serialised by an advisory lock, so two test processes on one server build it once.
 */
export function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const { admin, urlFor } = await pgServer();
    const name = templateName();
    await withSessionLock(admin, `cantrip.test-template.${name}`, async (conn) => {
      const [exists] = await conn`select 1 as one from pg_database where datname = ${name}`;
      if (exists) return;
      const building = `${name}_building`;
      await conn.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`);
      await conn.unsafe(`CREATE DATABASE ${quoteIdent(building)}`);
      const pool = new SQL({ url: urlFor(building), max: 1 });
      try {
        await migratePostgres(pool);
      } finally {
        await pool.close();
      }
      await conn.unsafe(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
      await conn.unsafe(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    });
    return name;
  })();
  return template;
}

/**
 * A fresh, fully migrated database for one test server: `CREATE DATABASE … TEMPLATE` of the
 * migrated template (measured in bench/pg.ts). Drop it when the test ends.
 */
export async function freshDatabase(prefix = "t_"): Promise<TestDatabase> {
  const tpl = await migratedTemplate();
  const { admin, urlFor } = await pgServer();
  const name = `${prefix}${randomBytes(6).toString("hex")}`;
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(tpl)}`);
  return handle(admin, name, urlFor(name));
}
