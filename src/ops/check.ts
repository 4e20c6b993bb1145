/**
 * Checks a database file before it may replace the live one: SQLite's
 * `PRAGMA integrity_check` must answer "ok", and its applied migrations (drizzle's
 * `__drizzle_migrations`) must be a prefix of the ones this build knows, compared by
 * hash. A file from an older cantrip is fine (the next start migrates it); one from a
 * newer cantrip, or with a migration this build does not know, is refused.
 */
import { inspectDatabaseFile } from "../db/files";
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
  let found: { integrity: string[]; hashes: string[] | null };
  try {
    found = inspectDatabaseFile(file);
  } catch (e) {
    const stage = (e as { stage?: string }).stage;
    const message = (e as Error).message;
    if (stage === "open") return { ok: false, integrity: [], applied: 0, known, problem: `cannot open ${file}: ${message}` };
    if (stage === "integrity") return { ok: false, integrity: [], applied: 0, known, problem: `not a SQLite database: ${message}` };
    return { ok: false, integrity: ["ok"], applied: 0, known, problem: "not a cantrip database (no migration table)" };
  }
  const { integrity, hashes } = found;
  if (hashes === null) return { ok: false, integrity, applied: 0, known, problem: `integrity_check failed: ${integrity.join("; ")}` };
  const ours = migrations.map((m) => createHash("sha256").update(m.sql).digest("hex"));
  if (hashes.length > known) return { ok: false, integrity, applied: hashes.length, known, problem: `the file has ${hashes.length} migrations applied; this cantrip knows ${known} (it comes from a newer version)` };
  const bad = hashes.findIndex((h, i) => h !== ours[i]);
  if (bad >= 0) return { ok: false, integrity, applied: hashes.length, known, problem: `migration ${bad + 1} in the file differs from this build's` };
  return { ok: true, integrity, applied: hashes.length, known };
}
