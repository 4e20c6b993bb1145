/**
 * Attack on the paced retention pass and the WAL-truncating checkpoint worker: cantrip as a
 * real process, a busy agent with far more invocation rows than its cap (written into the file
 * in one large transaction, so the WAL passes 64 MB and the worker has to truncate it), a
 * 1-second retention interval, and SIGKILL while the pass is deleting. After the kill and
 * after the restart: the file passes its integrity check, the pass resumes and reaches the
 * cap, and a bystander agent's calls answered well before the kill are in the log and it
 * keeps serving.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
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
const count = (dataDir: string, agentId: string) => {
  const db = openDb(dataDir);
  try {
    return (db.query("SELECT count(*) AS n FROM invocations WHERE agent_id = ?").get(agentId) as { n: number }).n;
  } finally {
    db.close();
  }
};
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
  const db = openDb(p.dataDir);
  const insert = db.prepare(
    "INSERT INTO invocations (agent_id, version, key_id, source, method, path, status, latency_ms, request_id, at) VALUES (?, 1, 'key_x', 'invoke', 'POST', ?, 200, 1, ?, ?)",
  );
  const pad = "/" + "x".repeat(200);
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(busy.agentId, pad, `req_busy_${i}`, Date.now());
  })();
  db.close();
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
