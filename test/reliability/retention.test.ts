/**
 * Issue 12 §4: nothing grows without bound. A public app that logs 4 × 16 KB per call,
 * called anonymously, grew the data dir by hundreds of MB: invocations and logs were never
 * pruned. With small configured limits, a retention pass keeps each agent's newest rows
 * within the row, byte and age limits, hands the freed pages back to the file system, and
 * reports what it pruned in /readyz details and the log. Databases made before incremental
 * vacuum are converted once on open. The same passes run on PostgreSQL too, wherever it is
 * installed (no PRAGMA, no rowid; autovacuum reclaims the space, so the file-size checks are
 * SQLite's alone, and the size reported is `pg_database_size`); with `CANTRIP_TEST_DB=postgres`
 * only that half runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { sql, type SQL } from "drizzle-orm";
import { boot, type Cantrip } from "../../src/boot";
import { loadConfig } from "../../src/config";
import { execute, openDatabase, queryRow, queryRows } from "../../src/db";
import type { Logger } from "../../src/http";
import { tempDir, TEST_SECRET_KEY, testDialect } from "../harness";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";
import { call, chattyBackend, deploy, foldWal, openFile, type Target } from "./host-helpers";

const LIMITS = { invocations: 20, logLines: 30, logBytes: 64 * 1024 };

/** The retention passes against a real server on `dialect`. */
function retentionSuite(dialect: "sqlite" | "postgres") {
  const info: { msg: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = { info: (msg, fields = {}) => info.push({ msg, fields }), warn() {}, error() {} };

  let app: Cantrip;
  let t: Target;
  let dataDir: string;
  /** SQLite only: the file itself (checkpoints, PRAGMAs, its size). */
  let file: Database | null = null;
  let pg: TestDatabase | null = null;
  const onSqlite = dialect === "sqlite";

  beforeAll(async () => {
    dataDir = tempDir();
    if (!onSqlite) pg = await freshDatabase();
    const config = loadConfig({
      ...(pg ? { CANTRIP_DATABASE_URL: pg.url, CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DB_POOL_MAX: "4" } : {}),
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
    if (onSqlite) file = openFile(dataDir);
  });
  afterAll(async () => {
    file?.close();
    await app?.stop();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Through the server's own data layer, so the same statements run on SQLite and PostgreSQL.
  const db = () => app.internals.store.db;
  const number = async (q: SQL) => Number((await queryRow<{ n: number | string }>(db(), q))!.n);
  const write = (q: SQL) => db().tx((t) => execute(t, q));
  const count = (table: string, agentId: string) => number(sql`SELECT count(*) AS n FROM ${sql.identifier(table)} WHERE agent_id = ${agentId}`);
  const logBytes = (agentId: string) => number(sql`SELECT coalesce(sum(octet_length(message)), 0) AS n FROM agent_logs WHERE agent_id = ${agentId}`);
  const exists = async (q: SQL) => (await queryRow(db(), q)) !== undefined;
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
    if (file) await foldWal(file);
    expect(await count("agent_logs", a.id)).toBe(600);
    const grown = onSqlite ? dbBytes() : 0;
    if (onSqlite) expect(grown).toBeGreaterThan(4 * 1024 * 1024);

    await app.internals.loops.get("retention")!.runNow();

    expect(await count("invocations", a.id)).toBe(LIMITS.invocations);
    expect(await count("agent_logs", a.id)).toBeLessThanOrEqual(LIMITS.logLines);
    expect(await logBytes(a.id)).toBeLessThanOrEqual(LIMITS.logBytes);
    expect(await logBytes(a.id)).toBeGreaterThan(LIMITS.logBytes - 17 * 1024); // newest kept right up to the cap
    // The newest call is what remains; the other agent is untouched.
    expect(await exists(sql`SELECT 1 AS one FROM invocations WHERE request_id = ${lastRequestId}`)).toBe(true);
    expect(await exists(sql`SELECT 1 AS one FROM agent_logs WHERE invocation_request_id = ${lastRequestId}`)).toBe(true);
    expect(await count("invocations", quiet.id)).toBe(5);
    expect(await count("agent_logs", quiet.id)).toBe(5);

    if (file) {
      await foldWal(file);
      expect((file.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(2);
      expect((file.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count).toBeLessThan(256);
      const after = dbBytes();
      console.log(`[retention] db file ${(grown / 1048576).toFixed(1)} MB after 150 calls × 4 × 16 KB of logs → ${(after / 1048576).toFixed(2)} MB after one pass`);
      expect(after).toBeLessThan(grown / 4);
    }

    const details = (await call(t, "GET", "/readyz")).body.details;
    expect(details.rowsPruned).toBe(130 + (600 - (await count("agent_logs", a.id))));
    // SQLite hands pages back itself; on PostgreSQL autovacuum does (none counted here).
    if (onSqlite) expect(details.pagesFreed).toBeGreaterThan(0);
    else expect(details.pagesFreed).toBe(0);
    expect(details.dbBytes).toBeGreaterThan(0);
    // PostgreSQL: pg_database_size (a few MB even for a small database; there is no file to stat).
    if (!onSqlite) expect(details.dbBytes).toBeGreaterThan(1024 * 1024);
    expect(info.some((l) => l.msg === "retention" && (l.fields.logsPruned as number) > 0 && (l.fields.dbBytes as number) > 0)).toBe(true);
  });

  test("rows older than the maximum age go, newer ones stay", async () => {
    const a = await deploy(t, "aged", chattyBackend(1, 10));
    const now = Date.now();
    const old = now - 8 * 86_400_000;
    const ins = (at: number) => write(sql`INSERT INTO invocations (agent_id, source, status, latency_ms, at) VALUES (${a.id}, 'invoke', 200, 1, ${at})`);
    const log = (at: number) => write(sql`INSERT INTO agent_logs (agent_id, level, message, at) VALUES (${a.id}, 'info', 'm', ${at})`);
    for (let i = 0; i < 3; i++) {
      await ins(old + i);
      await log(old + i);
    }
    for (let i = 0; i < 2; i++) {
      await ins(now - 86_400_000 + i);
      await log(now - 86_400_000 + i);
    }
    await app.internals.loops.get("retention")!.runNow();
    expect(await count("invocations", a.id)).toBe(2);
    expect(await count("agent_logs", a.id)).toBe(2);
    expect(await number(sql`SELECT min(at) AS n FROM invocations WHERE agent_id = ${a.id}`)).toBeGreaterThan(now - 7 * 86_400_000);
  });

  test("old versions go past the newest CANTRIP_RETENTION_VERSIONS; the live version is always kept", async () => {
    const a = await deploy(t, "versioned", chattyBackend(1, 10)); // version 1, live
    for (let i = 2; i <= 7; i++) {
      const r = await call(t, "PUT", `/v1/agents/${a.id}/source`, { files: { "index.ts": chattyBackend(1, 10 + i) }, entrypoint: "index.ts" });
      expect(r.status).toBeLessThan(300);
    }
    const numbers = async () => (await queryRows<{ number: number }>(db(), sql`SELECT number FROM versions WHERE agent_id = ${a.id} ORDER BY number`)).map((r) => r.number);
    expect(await numbers()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await app.internals.loops.get("retention")!.runNow();
    expect(await numbers()).toEqual([1, 5, 6, 7]); // the newest 3, and the live version 1
    const live = await call(t, "GET", `/v1/agents/${a.id}`);
    expect(live.body.data.liveVersion).toBe(1);
    expect((await call(t, "GET", `/v1/agents/${a.id}/versions/3`)).status).toBe(404);
  });

  test("finished schedule.run jobs: the newest 200 per agent and the young ones stay, older ones and those of deleted agents go with their events", async () => {
    const a = await deploy(t, "cron", chattyBackend(1, 10));
    const gone = await deploy(t, "cron-deleted", chattyBackend(1, 10));
    const old = Date.now() - 8 * 86_400_000;
    const id = (prefix: string, i: number) => `job_${prefix}${String(i).padStart(6, "0")}`;
    const ins = (jobId: string, agentId: string, status: string, finishedAt: number | null) =>
      write(sql`INSERT INTO jobs (id, agent_id, kind, payload, status, finished_at) VALUES (${jobId}, ${agentId}, 'schedule.run', '{}', ${status}, ${finishedAt})`);
    for (let i = 0; i < 230; i++) {
      await ins(id("a", i), a.id, "completed", i < 10 ? Date.now() : old); // the 10 oldest ids finished recently: kept by age
      await write(sql`INSERT INTO job_events (job_id, type, message) VALUES (${id("a", i)}, 'log', 'ran')`);
    }
    await ins(id("b", 0), a.id, "running", null); // unfinished: never touched
    for (let i = 0; i < 3; i++) await ins(id("g", i), gone.id, "completed", Date.now());
    expect((await call(t, "DELETE", `/v1/agents/${gone.id}`)).status).toBe(200);
    await app.internals.loops.get("retention")!.runNow();
    const left = (await queryRows<{ id: string }>(db(), sql`SELECT id FROM jobs WHERE kind = 'schedule.run' AND (agent_id = ${a.id} OR agent_id = ${gone.id}) ORDER BY id`)).map((r) => r.id);
    expect(left).toEqual([...Array.from({ length: 10 }, (_, i) => id("a", i)), ...Array.from({ length: 200 }, (_, i) => id("a", 30 + i)), id("b", 0)]);
    expect(await number(sql`SELECT count(*) AS n FROM job_events WHERE job_id LIKE 'job_a%'`)).toBe(210);
    expect((await call(t, "GET", "/readyz")).body.details.jobsPruned).toBe(23);
  });
}

// In the PostgreSQL pass (CANTRIP_TEST_DB=postgres) only the PostgreSQL half runs.
(testDialect === "sqlite" ? describe : describe.skip)("retention on SQLite", () => {
  retentionSuite("sqlite");

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
});

describePg("retention on PostgreSQL", () => {
  retentionSuite("postgres");
});
