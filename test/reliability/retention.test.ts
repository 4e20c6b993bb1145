/**
 * Issue 12 §4: nothing grows without bound. A public app that logs 4 × 16 KB per call,
 * called anonymously, grew the data dir by hundreds of MB: invocations and logs were never
 * pruned. With small configured limits, a retention pass keeps each agent's newest rows
 * within the row, byte and age limits, hands the freed pages back to the file system, and
 * reports what it pruned in /readyz details and the log. Databases made before incremental
 * vacuum are converted once on open.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { boot, type Cantrip } from "../../src/boot";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db";
import type { Logger } from "../../src/http";
import { tempDir } from "../harness";
import { call, chattyBackend, deploy, openFile, until, type Target } from "./host-helpers";

const info: { msg: string; fields: Record<string, unknown> }[] = [];
const logger: Logger = { info: (msg, fields = {}) => info.push({ msg, fields }), warn() {}, error() {} };

let app: Cantrip;
let t: Target;
let dataDir: string;
let file: Database;

const LIMITS = { invocations: 20, logLines: 30, logBytes: 64 * 1024 };

beforeAll(async () => {
  dataDir = tempDir();
  const config = loadConfig({
    CANTRIP_PORT: "0",
    CANTRIP_DATA_DIR: dataDir,
    CANTRIP_LOG_REQUESTS: "false",
    CANTRIP_RETENTION_INVOCATIONS: String(LIMITS.invocations),
    CANTRIP_RETENTION_LOG_LINES: String(LIMITS.logLines),
    CANTRIP_RETENTION_LOG_BYTES: String(LIMITS.logBytes),
    CANTRIP_RETENTION_DAYS: "7",
    CANTRIP_RETENTION_VERSIONS: "3",
    CANTRIP_RETENTION_INTERVAL_S: "3600", // passes are run by the test, not the timer
    CANTRIP_RATE_LIMIT_ANON_CLIENT: "0",
    CANTRIP_RATE_LIMIT_ANON_AGENT: "0",
  });
  app = await boot(config, { logger });
  t = { url: app.url, token: readFileSync(app.adminTokenFile, "utf8").trim() };
  file = openFile(dataDir);
});
afterAll(async () => {
  file.close();
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const count = (table: string, agentId: string) => (file.query(`SELECT count(*) AS n FROM ${table} WHERE agent_id = ?`).get(agentId) as { n: number }).n;
const logBytes = (agentId: string) => (file.query("SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) AS n FROM agent_logs WHERE agent_id = ?").get(agentId) as { n: number }).n;
const dbBytes = () => statSync(join(dataDir, "cantrip.db")).size;

test("a chatty public app called anonymously stays within the configured limits; space goes back to the file system", async () => {
  const a = await deploy(t, "chatty", chattyBackend(4, 16 * 1024), { public: true });
  const quiet = await deploy(t, "quiet", chattyBackend(1, 10), { public: true });
  let lastRequestId = "";
  for (let i = 0; i < 150; i++) {
    const r = await fetch(`${t.url}/apps/${a.slug}/`);
    expect(r.status).toBe(200);
    lastRequestId = r.headers.get("x-request-id")!;
  }
  for (let i = 0; i < 5; i++) await fetch(`${t.url}/apps/${quiet.slug}/`);
  await app.internals.invocations.flush();
  file.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  expect(count("agent_logs", a.id)).toBe(600);
  const grown = dbBytes();
  expect(grown).toBeGreaterThan(4 * 1024 * 1024);

  await app.internals.loops.get("retention")!.runNow();

  expect(count("invocations", a.id)).toBe(LIMITS.invocations);
  expect(count("agent_logs", a.id)).toBeLessThanOrEqual(LIMITS.logLines);
  expect(logBytes(a.id)).toBeLessThanOrEqual(LIMITS.logBytes);
  expect(logBytes(a.id)).toBeGreaterThan(LIMITS.logBytes - 17 * 1024); // newest kept right up to the cap
  // The newest call is what remains; the other agent is untouched.
  expect(file.query("SELECT 1 FROM invocations WHERE request_id = ?").get(lastRequestId)).not.toBeNull();
  expect(file.query("SELECT 1 FROM agent_logs WHERE invocation_request_id = ?").get(lastRequestId)).not.toBeNull();
  expect(count("invocations", quiet.id)).toBe(5);
  expect(count("agent_logs", quiet.id)).toBe(5);

  file.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  expect((file.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(2);
  expect((file.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count).toBeLessThan(256);
  const after = dbBytes();
  console.log(`[retention] db file ${(grown / 1048576).toFixed(1)} MB after 150 calls × 4 × 16 KB of logs → ${(after / 1048576).toFixed(2)} MB after one pass`);
  expect(after).toBeLessThan(grown / 4);

  const details = (await call(t, "GET", "/readyz")).body.details;
  expect(details.rowsPruned).toBe(130 + (600 - count("agent_logs", a.id)));
  expect(details.pagesFreed).toBeGreaterThan(0);
  expect(details.dbBytes).toBeGreaterThan(0);
  expect(info.some((l) => l.msg === "retention" && (l.fields.logsPruned as number) > 0 && (l.fields.dbBytes as number) > 0)).toBe(true);
});

test("rows older than the maximum age go, newer ones stay", async () => {
  const a = await deploy(t, "aged", chattyBackend(1, 10));
  const now = Date.now();
  const old = now - 8 * 86_400_000;
  const ins = file.query("INSERT INTO invocations (agent_id, source, status, latency_ms, at) VALUES (?, 'invoke', 200, 1, ?)");
  const log = file.query("INSERT INTO agent_logs (agent_id, level, message, at) VALUES (?, 'info', 'm', ?)");
  for (let i = 0; i < 3; i++) {
    ins.run(a.id, old + i);
    log.run(a.id, old + i);
  }
  for (let i = 0; i < 2; i++) {
    ins.run(a.id, now - 86_400_000 + i);
    log.run(a.id, now - 86_400_000 + i);
  }
  await app.internals.loops.get("retention")!.runNow();
  expect(count("invocations", a.id)).toBe(2);
  expect(count("agent_logs", a.id)).toBe(2);
  expect((file.query("SELECT min(at) AS m FROM invocations WHERE agent_id = ?").get(a.id) as { m: number }).m).toBeGreaterThan(now - 7 * 86_400_000);
});

test("old versions go past the newest CANTRIP_RETENTION_VERSIONS; the live version is always kept", async () => {
  const a = await deploy(t, "versioned", chattyBackend(1, 10)); // version 1, live
  for (let i = 2; i <= 7; i++) {
    const r = await call(t, "PUT", `/v1/agents/${a.id}/source`, { files: { "index.ts": chattyBackend(1, 10 + i) }, entrypoint: "index.ts" });
    expect(r.status).toBeLessThan(300);
  }
  const numbers = () => file.query("SELECT number FROM versions WHERE agent_id = ? ORDER BY number").all(a.id).map((r: any) => r.number);
  expect(numbers()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  await app.internals.loops.get("retention")!.runNow();
  expect(numbers()).toEqual([1, 5, 6, 7]); // the newest 3, and the live version 1
  const live = await call(t, "GET", `/v1/agents/${a.id}`);
  expect(live.body.data.liveVersion).toBe(1);
  expect((await call(t, "GET", `/v1/agents/${a.id}/versions/3`)).status).toBe(404);
});

test("finished schedule.run jobs: the newest 200 per agent and the young ones stay, older ones and those of deleted agents go with their events", async () => {
  const a = await deploy(t, "cron", chattyBackend(1, 10));
  const gone = await deploy(t, "cron-deleted", chattyBackend(1, 10));
  const old = Date.now() - 8 * 86_400_000;
  const ins = file.query("INSERT INTO jobs (id, agent_id, kind, payload, status, finished_at) VALUES (?, ?, 'schedule.run', '{}', ?, ?)");
  const ev = file.query("INSERT INTO job_events (job_id, type, message) VALUES (?, 'log', 'ran')");
  const id = (prefix: string, i: number) => `job_${prefix}${String(i).padStart(6, "0")}`;
  for (let i = 0; i < 230; i++) {
    ins.run(id("a", i), a.id, "completed", i < 10 ? Date.now() : old); // the 10 oldest ids finished recently: kept by age
    ev.run(id("a", i));
  }
  ins.run(id("b", 0), a.id, "running", null); // unfinished: never touched
  for (let i = 0; i < 3; i++) ins.run(id("g", i), gone.id, "completed", Date.now());
  expect((await call(t, "DELETE", `/v1/agents/${gone.id}`)).status).toBe(200);
  await app.internals.loops.get("retention")!.runNow();
  const left = file.query("SELECT id FROM jobs WHERE kind = 'schedule.run' AND (agent_id = ? OR agent_id = ?) ORDER BY id").all(a.id, gone.id).map((r: any) => r.id);
  expect(left).toEqual([...Array.from({ length: 10 }, (_, i) => id("a", i)), ...Array.from({ length: 200 }, (_, i) => id("a", 30 + i)), id("b", 0)]);
  expect((file.query("SELECT count(*) AS n FROM job_events WHERE job_id LIKE 'job_a%'").get() as { n: number }).n).toBe(210);
  expect((await call(t, "GET", "/readyz")).body.details.jobsPruned).toBe(23);
});

test("a brand-new database is created in incremental mode without a conversion (no one-time VACUUM line on first start)", () => {
  const dir = tempDir();
  try {
    const fresh = openDatabase(join(dir, "new.db"));
    expect(fresh.convertedToIncrementalVacuum).toBe(false);
    expect((fresh.sqlite.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(2);
    fresh.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a database created before incremental vacuum is converted once when opened", () => {
  const dir = tempDir();
  try {
    const f = join(dir, "old.db");
    const raw = new Database(f);
    raw.exec("CREATE TABLE filler (x TEXT)");
    raw.query("INSERT INTO filler VALUES (?)").run("y".repeat(10_000));
    raw.close();
    const first = openDatabase(f);
    expect(first.convertedToIncrementalVacuum).toBe(true);
    expect((first.sqlite.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(2);
    first.close();
    const again = openDatabase(f);
    expect(again.convertedToIncrementalVacuum).toBe(false);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
