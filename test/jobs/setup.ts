/**
 * Shared setup for job-queue tests: a fresh database per test (a SQLite file, or with
 * `CANTRIP_TEST_DB=postgres` a PostgreSQL database cloned from the migrated template,
 * test/pg/shared.ts `freshDatabase`), queues with fast timings on their own connections
 * (`open`: a second `Db` on the same database, as a second node would have), and cleanup.
 * A database is named by its location: the file path, or the postgres:// URL.
 */
import { afterEach } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { execute, openDatabase, type Db } from "../../src/db";
import { openPostgresDb } from "../../src/db/pg-client";
import { createQueue, type JobKind, type Queue, type QueueOptions } from "../../src/jobs";
import { tempDir, testDialect } from "../harness";
import type { TestDatabase } from "../pg/shared";

/** True when this run keeps the queues' state in PostgreSQL. */
export const onPostgres = testDialect === "postgres";

const queues: Queue[] = [];
const closers: (() => Promise<void> | void)[] = [];
const dirs: string[] = [];
const databases: TestDatabase[] = [];

/** Stops every queue, closes every connection and removes every database made since the last call. */
export async function cleanup(): Promise<void> {
  while (queues.length) await queues.pop()!.stop({ timeoutMs: 0 });
  while (closers.length) await closers.pop()!();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
  while (databases.length) await databases.pop()!.drop();
}

/**
 * Registers `cleanup` after each test of the calling file. Every test file calls it at its
 * top level: bun evaluates this module once per process, so a hook registered here at module
 * level would apply to the first test file only (the others' queues kept polling, and their
 * connections stayed open: a PostgreSQL file after them could not open its database).
 */
export function cleanupAfterEach(): void {
  afterEach(cleanup);
}

/** A fresh PostgreSQL database (dropped after the test), whatever the run's dialect. */
export async function freshPgDatabase(): Promise<string> {
  const { freshDatabase } = await import("../pg/shared");
  const tdb = await freshDatabase("jobs_");
  databases.push(tdb);
  return tdb.url;
}

/** A fresh database of the run's dialect: its location (file path or URL). */
export async function newDatabase(): Promise<string> {
  if (onPostgres) return freshPgDatabase();
  const dir = tempDir("cantrip-jobs-");
  dirs.push(dir);
  return join(dir, "jobs.db");
}

/** A connection (`Db`) of its own to the database at `location`, closed after the test. */
export async function open(location: string): Promise<Db> {
  if (location.startsWith("postgres")) {
    const opened = await openPostgresDb(location, { poolMax: 4 });
    closers.push(() => opened.close());
    return opened.db;
  }
  const opened = openDatabase(location);
  closers.push(() => opened.close());
  return opened.db;
}

/** Runs raw SQL (valid on the database's dialect) in a transaction of `db`. */
export async function exec(db: Db, text: string): Promise<void> {
  await db.tx((t) => execute(t, sql.raw(text)));
}

export type TestQueue = Omit<Queue, "register"> & {
  /** The database's location (file path or postgres:// URL). */
  location: string;
  db: Db;
  register(def: JobKind<any, any>): TestQueue;
};

/** A queue on its own connection to `location` (a fresh database when omitted). */
export async function queueOn(location?: string, opts: Partial<QueueOptions> = {}): Promise<TestQueue> {
  const where = location ?? (await newDatabase());
  const db = await open(where);
  const q = createQueue({ db, workerId: `w-${queues.length}`, concurrency: 3, pollMs: 20, leaseMs: 2_000, heartbeatMs: 50, onError: () => {}, ...opts });
  queues.push(q);
  const t: TestQueue = Object.assign({}, q, { location: where, db, register: (def: JobKind<any, any>) => (q.register(def), t) });
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, label = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(10);
  }
}

/** Resolves when the signal aborts (what a well-behaved long handler awaits). */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export async function statuses(q: Pick<Queue, "events">, jobId: string): Promise<string[]> {
  return (await q.events(jobId)).filter((e) => e.type === "status").map((e) => e.message ?? "");
}
