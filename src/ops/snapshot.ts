/**
 * A consistent online snapshot of the database: `VACUUM INTO` on a separate connection,
 * which reads one WAL snapshot (a read transaction) while the server keeps writing, and
 * writes a compact, self-contained SQLite file (no -wal). It runs in a short-lived Bun
 * Worker so a large database does not stall the server's event loop; the worker is an
 * inline module, so it works the same from source and inside `bun build --compile`.
 */
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { ensurePrivateFile } from "../lib/private-files";
import { SNAPSHOT_WORKER_SOURCE } from "../db/files";

const WORKER = SNAPSHOT_WORKER_SOURCE;

let workerUrl: string | null = null;

export interface Snapshot {
  file: string;
  bytes: number;
  ms: number;
}

export class SnapshotError extends Error {}

/**
 * Writes a snapshot of the SQLite database `source` to `dest` (which must not exist): into
 * `<dest>.partial-<pid>` first (mode 0600), renamed into place only once complete, so a
 * failed or interrupted backup never leaves a file that looks like a good one.
 * Throws SnapshotError with SQLite's message.
 */
export async function snapshotDatabase(source: string, dest: string, opts: { busyTimeoutMs?: number } = {}): Promise<Snapshot> {
  if (!existsSync(source)) throw new SnapshotError(`no database at ${source}`);
  if (existsSync(dest)) throw new SnapshotError(`${dest} already exists; choose a new file name`);
  const partial = `${dest}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  // VACUUM INTO accepts an existing empty file and keeps its mode: make it private first.
  ensurePrivateFile(partial);
  const started = performance.now();
  workerUrl ??= URL.createObjectURL(new Blob([WORKER], { type: "application/javascript" }));
  const worker = new Worker(workerUrl);
  try {
    const answer = await new Promise<{ ok: boolean; message?: string }>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => resolve({ ok: false, message: e.message });
      worker.postMessage({ source, dest: partial, busyTimeoutMs: opts.busyTimeoutMs ?? 10_000 });
    });
    if (!answer.ok) throw new SnapshotError(`snapshot of ${source} failed: ${answer.message}`);
    renameSync(partial, dest);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e instanceof SnapshotError ? e : new SnapshotError((e as Error).message);
  } finally {
    worker.terminate();
  }
  return { file: dest, bytes: statSync(dest).size, ms: Math.round(performance.now() - started) };
}
