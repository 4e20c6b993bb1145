/**
 * WAL checkpoints for the server's SQLite file, off the main thread (issue 15). By default
 * SQLite checkpoints on the connection that commits once the WAL passes 1,000 pages: under
 * invoke load the invocation log's flushes reach that about twice a second, and each
 * checkpoint copied ~4 MB into the database file and waited for two fsyncs (3–4 ms each
 * here) on the main thread, where every request in flight waited with it (p99 9.3–10.6 ms
 * against 7.8–8.4 ms with no checkpoints at all, same runs). So the writer connection does
 * not checkpoint (`wal_autocheckpoint = 0`, a per-connection setting) and a Bun Worker, an
 * inline module (the executable needs no extra entry point, as for snapshots), runs
 * `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own every CHECKPOINT_EVERY_MS.
 * PASSIVE never waits for readers or writers; once every frame is copied the next write
 * transaction starts the WAL over (SQLite's WAL restart), so the WAL stays about one
 * interval of writes long. A checkpoint is the same operation SQLite would have run, so a
 * crash in the middle of one leaves the database as consistent as before (SQLite
 * documentation, "Write-Ahead Logging", checkpointing). If the worker fails, the writer
 * connection checkpoints on commit again and `onFailure` is told why.
 *
 * The worker also shrinks the WAL file. SQLite's own `journal_size_limit` truncates it on the
 * first commit after the WAL starts over, i.e. on the writer, the main thread: after a large
 * retention pass had grown it to ~525 MB, that one `ftruncate` held the main thread for
 * ~165 ms, and every call in flight with it (issue 15; gone with the writer's limit off). So
 * the writer keeps no limit (`journal_size_limit = -1`) and, when the file is larger than
 * `walLimitBytes` after a checkpoint, the worker runs `wal_checkpoint(TRUNCATE)`, which
 * copies what is left and truncates the file to zero bytes on the worker's thread. It needs a
 * moment with no writer and no reader on an older snapshot; with `busy_timeout = 0` it
 * answers busy otherwise and the next tick tries again. While it truncates it holds the
 * write lock, and the writer's gate waits for it asynchronously (gate.ts).
 */
import type { Database } from "bun:sqlite";

/** How often the background connection checkpoints (ms). */
export const CHECKPOINT_EVERY_MS = 250;

/** SQLite's default `wal_autocheckpoint` (pages), restored on the writer if the worker fails. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

const WORKER_SOURCE = `import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
let db = null;
let timer = null;
let wal = "";
let walLimitBytes = -1;
const walBytes = () => {
  try {
    return statSync(wal).size;
  } catch {
    return 0;
  }
};
const tick = () => {
  try {
    db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
    if (walLimitBytes >= 0 && walBytes() > walLimitBytes) db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
  } catch (err) {
    // SQLITE_BUSY: another checkpoint (a snapshot's, a tool's) is running; the next tick retries.
    if (!/busy|locked/i.test(String((err && err.message) || err))) postMessage({ t: "failed", message: String((err && err.message) || err) });
  }
};
self.onmessage = (e) => {
  const m = e.data;
  if (m.t === "start") {
    try {
      db = new Database(m.file, { readwrite: true, create: false });
      db.exec("PRAGMA busy_timeout = 0");
      wal = m.file + "-wal";
      walLimitBytes = m.walLimitBytes;
      timer = setInterval(tick, m.everyMs);
      postMessage({ t: "started" });
    } catch (err) {
      postMessage({ t: "failed", message: String((err && err.message) || err) });
    }
  } else if (m.t === "stop") {
    clearInterval(timer);
    try { db && db.close(); } catch {}
    db = null;
    postMessage({ t: "stopped" });
  }
};`;

let workerUrl: string | null = null;

/** A running background checkpointer; stop() before closing the writer connection. */
export interface Checkpointer {
  /** Stops the checkpoints and closes the worker's connection (asynchronously; the worker then ends). */
  stop(): void;
}

/**
 * Turns off checkpoints on commit for `writer` (the connection every write of the process
 * goes through) and its WAL truncation, and starts checkpointing `file` from a worker
 * instead, which also truncates the WAL file once it is larger than `walLimitBytes` (bytes;
 * negative: never). `onFailure(message)` is called at most once, when the worker cannot open
 * the file, a checkpoint fails for a reason other than a busy lock, or the worker dies; the
 * writer then checkpoints on commit again (SQLite's default, 1,000 pages) and truncates the
 * WAL to `walLimitBytes` itself (SQLite's `journal_size_limit`).
 */
export function startCheckpointer(file: string, writer: Database, onFailure: (message: string) => void = () => {}, walLimitBytes = -1): Checkpointer {
  writer.exec("PRAGMA wal_autocheckpoint = 0");
  writer.exec("PRAGMA journal_size_limit = -1");
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const worker = new Worker(workerUrl);
  let stopped = false;
  let failed = false;
  const fail = (message: string) => {
    if (failed || stopped) return;
    failed = true;
    try {
      writer.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
      writer.exec(`PRAGMA journal_size_limit = ${Math.trunc(walLimitBytes)}`);
    } catch {}
    worker.terminate();
    onFailure(message);
  };
  worker.onmessage = (e: MessageEvent<{ t: string; message?: string }>) => {
    if (e.data.t === "failed") fail(e.data.message ?? "unknown error");
    else if (e.data.t === "stopped") worker.terminate();
  };
  worker.onerror = (e) => fail((e as ErrorEvent).message ?? "the checkpoint worker failed");
  worker.addEventListener("close", () => fail("the checkpoint worker exited"));
  (worker as unknown as { unref(): void }).unref(); // (Bun: the worker alone does not keep the process alive)
  worker.postMessage({ t: "start", file, everyMs: CHECKPOINT_EVERY_MS, walLimitBytes });
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (!failed) worker.postMessage({ t: "stop" });
    },
  };
}
