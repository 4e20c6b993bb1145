/**
 * Retention across restarts, with cantrip as a real process, a busy agent with far more
 * invocation rows than its cap (written into the file in one large transaction, so the WAL
 * passes 64 MB and the checkpoint worker has to truncate it) and a 1-second retention interval.
 *
 * SIGKILL while the pass is deleting (an attack on the paced pass and the WAL-truncating
 * checkpoint worker; it held): after the kill and after the restart, the file passes its
 * integrity check, the pass resumes and reaches the cap, and a bystander agent's calls
 * answered well before the kill are in the log and it keeps serving.
 *
 * A graceful stop (SIGTERM) during the pass's vacuum phase (found by an attack on
 * `Pruner.stop()`): the stop ends the pass there, as intended, but the next start's passes
 * never went on with it, since a pass vacuumed only when it deleted rows itself, and the file
 * kept every page the stopped pass had not yet returned, pass after pass. Docs: ARCHITECTURE
 * "Background loops and retention" ("a server that stops ends a pass after the step under
 * way (`Pruner.stop`), and the next start's pass goes on"); pruner.ts stop().
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { trivialBackend } from "../../bench/lib/backends";
import { deployTrivial, startCantrip, type CantripProcess } from "../../bench/lib/cantrip-process";
import { testDialect } from "../harness";
import { integrity, invocationsAndFreePages, openDb, seedInvocations, until } from "./helpers";

const ROWS = 300_000;
const KEPT = 100;
const procs: CantripProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill9().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const env = { CANTRIP_RETENTION_INTERVAL_S: "1", CANTRIP_RETENTION_INVOCATIONS: String(KEPT) };
const count = (dataDir: string, agentId: string) => invocationsAndFreePages(dataDir, agentId).rows;
const walBytes = (dataDir: string) => {
  try {
    return statSync(join(dataDir, "cantrip.db-wal")).size;
  } catch {
    return 0;
  }
};

async function call(p: CantripProcess, slug: string, key: string, requestId: string): Promise<number> {
  const r = await fetch(`${p.url}/v1/invoke/${slug}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ n: 1 }),
  });
  await r.arrayBuffer();
  return r.status;
}

test.skipIf(testDialect !== "sqlite")("SIGKILL mid retention pass (WAL past 64 MB): consistent file, the pass resumes, a bystander's answered calls are kept", async () => {
  const p = await startCantrip({ env });
  procs.push(p);
  dirs.push(p.dataDir);
  const busy = await deployTrivial(p, "busy", trivialBackend(1));
  const bystander = await deployTrivial(p, "bystander", trivialBackend(1));

  // The bystander's calls, answered long (> 1 s, five flush intervals) before the kill.
  const answered: string[] = [];
  for (let i = 0; i < 20; i++) {
    const id = `req_bystander_${i}`;
    if ((await call(p, bystander.slug, bystander.key, id)) === 200) answered.push(id);
  }
  expect(answered.length).toBe(20);

  // The busy agent's backlog, in one transaction from another connection: the WAL grows past 64 MB.
  seedInvocations(p.dataDir, busy.agentId, ROWS);
  const walAtSeed = walBytes(p.dataDir);
  expect(walAtSeed).toBeGreaterThan(64 * 1024 * 1024);

  // Kill while the pass is deleting (well after its first batches, well before its end).
  await until("the pass to have deleted some batches", () => count(p.dataDir, busy.agentId) < ROWS - 5_000 || undefined, 60_000, 20);
  // A random moment of the pass (the worker may be checkpointing or truncating the WAL).
  await Bun.sleep(Math.floor(Math.random() * 400));
  const left = count(p.dataDir, busy.agentId);
  const walAtKill = walBytes(p.dataDir);
  await p.kill9();
  expect(left).toBeGreaterThan(KEPT);
  expect(integrity(p.dataDir)).toBe("ok");

  const q = await startCantrip({ env, dataDir: p.dataDir });
  procs.push(q);
  await until("the restarted pass to reach the cap", () => count(q.dataDir, busy.agentId) <= KEPT || undefined, 90_000, 100);
  expect(await call(q, bystander.slug, bystander.key, "req_bystander_after")).toBe(200);
  const fileDb = openDb(q.dataDir);
  const kept = new Set((fileDb.query("SELECT request_id FROM invocations WHERE agent_id = ?").all(bystander.agentId) as { request_id: string }[]).map((r) => r.request_id));
  fileDb.close();
  expect(answered.filter((id) => !kept.has(id))).toEqual([]);
  expect(integrity(q.dataDir)).toBe("ok");
  console.log(`wal at seed ${walAtSeed}, at kill ${walAtKill}, rows left at kill ${left}`);
  await q.stop();
  expect(integrity(q.dataDir)).toBe("ok");
}, 240_000);

test.skipIf(testDialect !== "sqlite")("a server stopped during a pass's vacuum phase: after the restart, passes hand the remaining free pages back", async () => {
  const p = await startCantrip({ env });
  procs.push(p);
  dirs.push(p.dataDir);
  const busy = await deployTrivial(p, "busy", trivialBackend(1));
  seedInvocations(p.dataDir, busy.agentId, ROWS);

  // The pass has deleted down to the cap and is vacuuming: stop the server gracefully now.
  const atStop = await until("the pass's vacuum phase", () => {
    const s = invocationsAndFreePages(p.dataDir, busy.agentId);
    return s.rows <= KEPT && s.free > 2000 ? s : undefined;
  }, 60_000, 10);
  await p.stop();
  const afterStop = invocationsAndFreePages(p.dataDir, busy.agentId);
  expect(afterStop.free).toBeGreaterThan(2000); // (the stop ended the pass with these pages still free)

  // Next start: five retention intervals.
  const q = await startCantrip({ env, dataDir: p.dataDir });
  procs.push(q);
  await Bun.sleep(5_000);
  const later = invocationsAndFreePages(q.dataDir, busy.agentId);
  await q.stop();
  expect(integrity(q.dataDir)).toBe("ok");
  console.log(`free pages: at stop ${atStop.free}, after stop ${afterStop.free}, after 5 passes of the next start ${later.free}`);
  // An uninterrupted pass ends with fewer than 256 free pages (pruner.ts VACUUM_MIN_FREE_PAGES).
  expect(later.free).toBeLessThan(256);
}, 120_000);
