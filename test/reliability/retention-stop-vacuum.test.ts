/**
 * Found by an attack on `Pruner.stop()` as the server uses it (src/boot.ts stop): a graceful
 * stop (SIGTERM) that arrives while a retention pass is handing free pages back (its paced
 * incremental-vacuum phase) ends the pass there, as intended; but the next start's passes
 * never went on with it, since a pass vacuumed only when it deleted rows itself, and the file
 * kept every page the stopped pass had not yet returned, pass after pass. Docs: ARCHITECTURE
 * "Background loops and retention" ("a server that stops ends a pass after the step under
 * way (`Pruner.stop`), and the next start's pass goes on"); pruner.ts stop().
 * Real process, real file; a 1-second retention interval.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { trivialBackend } from "../../bench/lib/backends";
import { deployTrivial, startCantrip, type CantripProcess } from "../../bench/lib/cantrip-process";
import { testDialect } from "../harness";
import { integrity, openDb, until } from "./helpers";

const ROWS = 300_000;
const KEPT = 100;
const procs: CantripProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill9().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const env = { CANTRIP_RETENTION_INTERVAL_S: "1", CANTRIP_RETENTION_INVOCATIONS: String(KEPT) };
const read = (dataDir: string, agentId: string) => {
  const db = openDb(dataDir);
  try {
    const rows = (db.query("SELECT count(*) AS n FROM invocations WHERE agent_id = ?").get(agentId) as { n: number }).n;
    const free = (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
    return { rows, free };
  } finally {
    db.close();
  }
};

test.skipIf(testDialect !== "sqlite")("a server stopped during a pass's vacuum phase: after the restart, passes hand the remaining free pages back", async () => {
  const p = await startCantrip({ env });
  procs.push(p);
  dirs.push(p.dataDir);
  const busy = await deployTrivial(p, "busy", trivialBackend(1));
  const db = openDb(p.dataDir);
  const insert = db.prepare(
    "INSERT INTO invocations (agent_id, version, key_id, source, method, path, status, latency_ms, request_id, at) VALUES (?, 1, 'key_x', 'invoke', 'POST', ?, 200, 1, ?, ?)",
  );
  const pad = "/" + "x".repeat(200);
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(busy.agentId, pad, `req_busy_${i}`, Date.now());
  })();
  db.close();

  // The pass has deleted down to the cap and is vacuuming: stop the server gracefully now.
  const atStop = await until("the pass's vacuum phase", () => {
    const s = read(p.dataDir, busy.agentId);
    return s.rows <= KEPT && s.free > 2000 ? s : undefined;
  }, 60_000, 10);
  await p.stop();
  const afterStop = read(p.dataDir, busy.agentId);
  expect(afterStop.free).toBeGreaterThan(2000); // (the stop ended the pass with these pages still free)

  // Next start: five retention intervals.
  const q = await startCantrip({ env, dataDir: p.dataDir });
  procs.push(q);
  await Bun.sleep(5_000);
  const later = read(q.dataDir, busy.agentId);
  await q.stop();
  expect(integrity(q.dataDir)).toBe("ok");
  console.log(`free pages: at stop ${atStop.free}, after stop ${afterStop.free}, after 5 passes of the next start ${later.free}`);
  // An uninterrupted pass ends with fewer than 256 free pages (pruner.ts VACUUM_MIN_FREE_PAGES).
  expect(later.free).toBeLessThan(256);
}, 120_000);
