/**
 * SQLite file tools for the offline operations in src/ops (backup, restore, check): they
 * open a database file of their own, outside the server's data layer (a backup file to
 * check, the live file while the server is stopped, or a snapshot worker's separate
 * connection). Kept in src/db so that no module outside it touches the driver
 * (test/db/no-sync-calls.test.ts); a Postgres deployment backs up with pg_dump instead.
 */
import { Database } from "bun:sqlite";

/** The first lines of `PRAGMA integrity_check` of `db`. */
function integrityOf(db: Database, lines: number): string[] {
  return (db.query(`PRAGMA integrity_check(${lines})`).all() as { integrity_check: string }[]).map((r) => r.integrity_check);
}

/**
 * Opens `file` read-only and reads its integrity check and applied migration hashes.
 * Throws with `stage` naming the step that failed ("open", "integrity" or "migrations").
 */
export function inspectDatabaseFile(file: string): { integrity: string[]; hashes: string[] | null } {
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (e) {
    throw Object.assign(new Error((e as Error).message), { stage: "open" });
  }
  try {
    let integrity: string[];
    try {
      integrity = integrityOf(db, 20);
    } catch (e) {
      throw Object.assign(new Error((e as Error).message), { stage: "integrity" });
    }
    if (integrity.length !== 1 || integrity[0] !== "ok") return { integrity, hashes: null };
    try {
      return { integrity, hashes: (db.query("SELECT hash FROM __drizzle_migrations ORDER BY id").all() as { hash: string }[]).map((r) => r.hash) };
    } catch (e) {
      throw Object.assign(new Error((e as Error).message), { stage: "migrations" });
    }
  } finally {
    db.close();
  }
}

/** Folds the WAL of `file` into the main file (the server must be stopped). */
export function checkpointDatabaseFile(file: string): void {
  const db = new Database(file, { readwrite: true, create: false });
  try {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

/**
 * Source of the Worker that writes a snapshot with `VACUUM INTO` on a connection of its own
 * (message: { source, dest, busyTimeoutMs }; answers { ok, message? }).
 */
export const SNAPSHOT_WORKER_SOURCE = `import { Database } from "bun:sqlite";
self.onmessage = (e) => {
  let db;
  try {
    db = new Database(e.data.source, { readwrite: true, create: false });
    db.exec("PRAGMA busy_timeout = " + e.data.busyTimeoutMs);
    db.query("VACUUM INTO ?").run(e.data.dest);
    postMessage({ ok: true });
  } catch (err) {
    postMessage({ ok: false, message: String((err && err.message) || err) });
  } finally {
    try { db && db.close(); } catch {}
  }
};`;
