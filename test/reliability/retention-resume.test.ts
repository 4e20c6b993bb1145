/**
 * Found by an attack on the paced retention pass (pruner.ts `Pruner.stop`): the docs promise
 * that "a server that stops ends a pass after the step under way, and the next start's pass
 * goes on" (ARCHITECTURE "Background loops and retention"; pruner.ts stop()). The delete phase
 * did go on (its threshold is recomputed), but the incremental-vacuum phase ran only when the
 * same pass deleted something: a pass stopped in its vacuum phase (or killed there) left every
 * free page in the file until some agent happened to exceed its limits again. Every pass now
 * ends with the vacuum phase.
 * Real SQLite file, real Pruner; the "restart" is a close and a reopen of the file with a new
 * Pruner, as the server's stop and next start do.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type Db, type OpenedDatabase } from "../../src/db";
import { Pruner } from "../../src/retention/pruner";
import { tempDir, testDialect } from "../harness";

const ROWS = 40_000;
const KEPT = 100;
const onSqlite = testDialect === "sqlite";
const policy = { maxAgeDays: 0, maxInvocations: KEPT, maxLogLines: 0, maxLogBytes: 0 };
const dir = tempDir("cantrip-retention-resume-");
let opened: OpenedDatabase | undefined;

afterAll(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

const freePages = (o: OpenedDatabase) => (o.sqlite.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;

test.skipIf(!onSqlite)("a pass stopped in its vacuum phase: the next start's pass hands the free pages back", async () => {
  const file = join(dir, "resume.db");
  opened = openDatabase(file);
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_res', 'res')");
  raw.exec("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agt_res', 'ws_res', 'res', 'res', 'deployed')");
  const insert = raw.prepare(
    "INSERT INTO invocations (agent_id, version, key_id, source, method, path, status, latency_ms, request_id, at) VALUES ('agt_res', 1, 'key_res', 'invoke', 'POST', ?, 200, 1, ?, ?)",
  );
  raw.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(`/${"p".repeat(60)}/${i}`, `req_${i.toString().padStart(16, "0")}`, Date.now());
  })();

  // First run of the server: its pass deletes everything past the cap, and the server stops
  // while the pass is in its first vacuum step (the "step under way").
  const deleteBatches = Math.ceil((ROWS - KEPT) / 500);
  let txs = 0;
  const first = new Pruner(
    Object.assign(Object.create(opened.db) as Db, {
      tx: async (fn: Parameters<Db["tx"]>[0]) => {
        try {
          return await opened!.db.tx(fn);
        } finally {
          if (++txs === deleteBatches + 1) first.stop(); // (the server's stop calls pruner.stop() first)
        }
      },
    }),
    policy,
  );
  const r1 = await first.prune();
  expect(r1.invocations).toBe(ROWS - KEPT);
  const freeAtStop = freePages(opened);
  // Precondition: plenty of free pages were left when the pass stopped (far above the 256 tolerated).
  expect(freeAtStop).toBeGreaterThan(1000);
  opened.close();

  // Next start on the same file: its retention pass should go on where the stopped one ended.
  opened = openDatabase(file);
  const second = new Pruner(opened.db, policy);
  const r2 = await second.prune();
  const freeAfter = freePages(opened);
  // An uninterrupted pass leaves fewer than 256 free pages (VACUUM_MIN_FREE_PAGES); so does the
  // next start's, although it deletes nothing (on the old code it vacuumed only after deletes).
  expect({ pagesFreed: r2.pagesFreed, freeAfterNextPass: freeAfter < 256 ? "< 256" : freeAfter }).toEqual({ pagesFreed: freeAtStop - freeAfter, freeAfterNextPass: "< 256" });
}, 60_000);
