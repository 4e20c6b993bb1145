/**
 * Background WAL checkpoints (checkpointer.ts, issue 15): the server's writer connection never
 * checkpoints on commit, the worker copies the WAL into the database file meanwhile, and the
 * WAL is started over once copied, so it stays about one interval of writes long instead of
 * growing; a database opened without the option keeps SQLite's default.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JOURNAL_SIZE_LIMIT, openDatabase, type OpenedDatabase } from "./client";
import { CHECKPOINT_EVERY_MS } from "./checkpointer";

let opened: OpenedDatabase | undefined;
let dir: string;
afterEach(() => {
  opened?.close();
  opened = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const size = (f: string) => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};

/** A database file opened as the server opens it (background checkpoints), with a blob table; the worker's failures collected. */
function openWithWorker(name: string) {
  dir = mkdtempSync(join(tmpdir(), "cantrip-ckpt-"));
  const file = join(dir, name);
  const failures: string[] = [];
  opened = openDatabase(file, { checkpointInBackground: { onFailure: (m) => failures.push(m) } });
  const w = opened.sqlite;
  w.exec("CREATE TABLE blob_rows (id INTEGER PRIMARY KEY, b BLOB)");
  return { file, w, failures, insert: w.query("INSERT INTO blob_rows (b) VALUES (?)") };
}

test("a writer opened with checkpointInBackground never checkpoints on commit; the worker copies the WAL and it is reused", async () => {
  const { file, w, failures, insert } = openWithWorker("c.db");
  expect((w.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint).toBe(0);
  const chunk = new Uint8Array(64 * 1024).fill(7);
  // 6 rounds of ~6 MB (more than SQLite's 1,000-page default each), a few checkpoint intervals apart.
  let walMax = 0;
  const dbBefore = size(file);
  for (let round = 0; round < 6; round++) {
    w.transaction(() => {
      for (let i = 0; i < 96; i++) insert.run(chunk);
    })();
    walMax = Math.max(walMax, size(`${file}-wal`));
    await Bun.sleep(CHECKPOINT_EVERY_MS * 3);
  }
  // Copied into the database file by the worker: nothing on this thread checkpointed.
  expect(size(file) - dbBefore).toBeGreaterThan(30 * 1024 * 1024);
  // Started over after each copy: the WAL never held much more than one round (~6.4 MB), not all ~38 MB.
  expect(walMax).toBeLessThan(16 * 1024 * 1024);
  expect(failures).toEqual([]);
}, 20_000);

test("a WAL grown past the size limit is truncated by the worker, not on a commit of the writer's", async () => {
  const { file, w, failures, insert } = openWithWorker("t.db");
  // The writer never truncates (that ftruncate held the main thread ~165 ms after a 525 MB WAL).
  expect((w.query("PRAGMA journal_size_limit").get() as { journal_size_limit: number }).journal_size_limit).toBe(-1);
  const chunk = new Uint8Array(256 * 1024).fill(9);
  // One transaction past the limit: the WAL file holds all of it.
  w.transaction(() => {
    for (let i = 0; i < (JOURNAL_SIZE_LIMIT * 1.25) / chunk.byteLength; i++) insert.run(chunk);
  })();
  expect(size(`${file}-wal`)).toBeGreaterThan(JOURNAL_SIZE_LIMIT);
  // No further commit on the writer: only the worker can shrink the file.
  const deadline = Date.now() + 40 * CHECKPOINT_EVERY_MS;
  while (size(`${file}-wal`) > JOURNAL_SIZE_LIMIT && Date.now() < deadline) await Bun.sleep(CHECKPOINT_EVERY_MS);
  expect(size(`${file}-wal`)).toBe(0);
  expect(size(file)).toBeGreaterThan(JOURNAL_SIZE_LIMIT);
  // The next write starts the WAL afresh. The writer has no busy timeout (the server's write
  // gate retries "busy" asynchronously), and the worker's next tick may hold the lock for a
  // moment, so this write retries the same way.
  for (const until = Date.now() + 5_000; ; ) {
    try {
      insert.run(chunk);
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > until) throw e;
      await Bun.sleep(5);
    }
  }
  expect((w.query("SELECT count(*) AS n FROM blob_rows").get() as { n: number }).n).toBe((JOURNAL_SIZE_LIMIT * 1.25) / chunk.byteLength + 1);
  expect(failures).toEqual([]);
}, 30_000);

test("without the option the writer keeps SQLite's default checkpoint on commit", () => {
  dir = mkdtempSync(join(tmpdir(), "cantrip-ckpt-"));
  opened = openDatabase(join(dir, "d.db"));
  expect((opened.sqlite.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint).toBe(1000);
});

test("a worker that cannot open the file: commits checkpoint again and the failure is reported", async () => {
  dir = mkdtempSync(join(tmpdir(), "cantrip-ckpt-"));
  const { startCheckpointer } = await import("./checkpointer");
  const { Database } = await import("bun:sqlite");
  const writer = new Database(join(dir, "w.db"), { create: true });
  try {
    writer.exec("PRAGMA journal_mode = WAL");
    const failures: string[] = [];
    startCheckpointer(join(dir, "missing", "nope.db"), writer, (m) => failures.push(m));
    expect((writer.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint).toBe(0);
    for (let i = 0; i < 100 && failures.length === 0; i++) await Bun.sleep(20);
    expect(failures.length).toBe(1);
    expect((writer.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint).toBe(1000);
  } finally {
    writer.close();
  }
});
