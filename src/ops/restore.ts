/**
 * `cantrip restore <file>`: replaces the data dir's database with a backup. Refuses while
 * a server is using the data dir (server.pid names a live process), and refuses a file
 * that fails `integrity_check` or the migration-level check. The replaced database is
 * kept beside it as `cantrip.db.pre-restore-<time>` (checkpointed first, so it is whole
 * without its -wal), and the restored file is copied in through a temporary name and a
 * rename, 0600, so a failure at any step leaves the old database in place.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { databaseFiles } from "../db/client";
import { checkpointDatabaseFile } from "../db/files";
import { ensurePrivateDir, ensurePrivateFile } from "../lib/private-files";
import { checkDatabaseFile, type DatabaseCheck } from "./check";
import { pidFile, runningServer } from "./server-lock";

export class RestoreError extends Error {}

export interface Restored {
  check: DatabaseCheck;
  /** Where the replaced database was moved, or null when there was none. */
  previous: string | null;
}

export function restoreDatabase(backup: string, dataDir: string, now = new Date()): Restored {
  const pid = runningServer(dataDir);
  if (pid !== null)
    throw new RestoreError(`a cantrip server (pid ${pid}) is using ${dataDir}: stop it first (if none is running, delete ${pidFile(dataDir)})`);
  if (!existsSync(backup)) throw new RestoreError(`no such file: ${backup}`);
  const check = checkDatabaseFile(backup);
  if (!check.ok) throw new RestoreError(`${backup} cannot be restored: ${check.problem}`);

  ensurePrivateDir(dataDir);
  const live = join(dataDir, "cantrip.db");
  const incoming = `${live}.restore-${process.pid}`;
  rmSync(incoming, { force: true });
  ensurePrivateFile(incoming);
  try {
    copyFileSync(backup, incoming);
    ensurePrivateFile(incoming);
  } catch (e) {
    rmSync(incoming, { force: true });
    throw new RestoreError(`cannot copy ${backup} into ${dataDir}: ${(e as Error).message}`);
  }

  let previous: string | null = null;
  if (existsSync(live)) {
    // Fold the old WAL into the main file, so the kept copy is complete on its own.
    checkpointDatabaseFile(live);
    previous = `${live}.pre-restore-${now.toISOString().replace(/[:.]/g, "-")}`;
    renameSync(live, previous);
    ensurePrivateFile(previous, undefined, { create: false });
  }
  for (const f of databaseFiles(live).slice(1)) rmSync(f, { force: true });
  renameSync(incoming, live);
  return { check, previous };
}
