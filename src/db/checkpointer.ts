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
 */
import type { Database } from "bun:sqlite";

/** How often the background connection checkpoints (ms). */
export const CHECKPOINT_EVERY_MS = 250;

/** SQLite's default `wal_autocheckpoint` (pages), restored on the writer if the worker fails. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

const WORKER_SOURCE = `import { Database } from "bun:sqlite";
let db = null;
let timer = null;
const tick = () => {
  try {
    db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
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
 * goes through) and starts checkpointing `file` from a worker instead. `onFailure(message)`
 * is called at most once, when the worker cannot open the file, a checkpoint fails for a
 * reason other than a busy lock, or the worker dies; the writer then checkpoints on commit
 * again (SQLite's default, 1,000 pages).
 */
export function startCheckpointer(file: string, writer: Database, onFailure: (message: string) => void = () => {}): Checkpointer {
  writer.exec("PRAGMA wal_autocheckpoint = 0");
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const worker = new Worker(workerUrl);
  let stopped = false;
  let failed = false;
  const fail = (message: string) => {
    if (failed || stopped) return;
    failed = true;
    try {
      writer.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
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
  worker.postMessage({ t: "start", file, everyMs: CHECKPOINT_EVERY_MS });
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (!failed) worker.postMessage({ t: "stop" });
    },
  };
}
