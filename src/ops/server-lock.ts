/**
 * `<data-dir>/server.pid`: written (0600) by a running `cantrip serve`, removed when it
 * stops. Operator commands that must not run under a live server (restore) read it and
 * ask the kernel whether that process is alive; a file left by a crash names a dead
 * process and is ignored.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeSecretFile } from "../auth/key-file";

export const pidFile = (dataDir: string) => join(dataDir, "server.pid");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Records this process as the data dir's server; returns the function that releases it. */
export function claimServer(dataDir: string): () => void {
  const file = pidFile(dataDir);
  writeSecretFile(file, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {}
  };
}

/** The pid of a live server using `dataDir`, or null. */
export function runningServer(dataDir: string): number | null {
  const file = pidFile(dataDir);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  // Our own pid is a stale file from an earlier container run in which the server was pid 1 too.
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
}
