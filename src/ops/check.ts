/**
 * Checks a database file before it may replace the live one: SQLite's
 * `PRAGMA integrity_check` must answer "ok", and its applied migrations (drizzle's
 * `__drizzle_migrations`) must be a prefix of the ones this build knows, compared by
 * hash. A file from an older cantrip is fine (the next start migrates it); one from a
 * newer cantrip, or with a migration this build does not know, is refused.
 */
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { migrations } from "../db/migrations/embedded";

export interface DatabaseCheck {
  ok: boolean;
  /** The first lines of integrity_check ("ok" when sound). */
  integrity: string[];
  /** Migrations applied in the file, and known to this build. */
  applied: number;
  known: number;
  /** Why the file is refused, when ok is false. */
  problem?: string;
}

export function checkDatabaseFile(file: string): DatabaseCheck {
  const known = migrations.length;
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (e) {
    return { ok: false, integrity: [], applied: 0, known, problem: `cannot open ${file}: ${(e as Error).message}` };
  }
  try {
    let integrity: string[];
    try {
      integrity = (db.query("PRAGMA integrity_check(20)").all() as { integrity_check: string }[]).map((r) => r.integrity_check);
    } catch (e) {
      return { ok: false, integrity: [], applied: 0, known, problem: `not a SQLite database: ${(e as Error).message}` };
    }
    if (integrity.length !== 1 || integrity[0] !== "ok") return { ok: false, integrity, applied: 0, known, problem: `integrity_check failed: ${integrity.join("; ")}` };
    let rows: { hash: string }[];
    try {
      rows = db.query("SELECT hash FROM __drizzle_migrations ORDER BY id").all() as { hash: string }[];
    } catch {
      return { ok: false, integrity, applied: 0, known, problem: "not a cantrip database (no migration table)" };
    }
    const ours = migrations.map((m) => createHash("sha256").update(m.sql).digest("hex"));
    if (rows.length > known) return { ok: false, integrity, applied: rows.length, known, problem: `the file has ${rows.length} migrations applied; this cantrip knows ${known} (it comes from a newer version)` };
    const bad = rows.findIndex((r, i) => r.hash !== ours[i]);
    if (bad >= 0) return { ok: false, integrity, applied: rows.length, known, problem: `migration ${bad + 1} in the file differs from this build's` };
    return { ok: true, integrity, applied: rows.length, known };
  } finally {
    db.close();
  }
}
