/**
 * The SQL of retention's and the error-rate monitor's bounded reads (errorRate's `newest`, the
 * orphan walk, the thresholds' `id > pastRows`) on PostgreSQL, compared with their definitions
 * (written by an attack review; it held), also with ids past 2^32 (bigserial; ~2 days at
 * 25,000 calls/s), which the driver answers as strings.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { execute } from "../../src/db";
import { openPostgresDb, type OpenedPostgres } from "../../src/db/pg-client";
import { InvocationLog } from "../../src/gateway";
import { ScheduleRunPruning } from "../../src/jobs/retention";
import { Pruner } from "../../src/retention";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

/** A fresh database with workspace ws_1 and agents `agents`, opened for the describe block's tests (then `extra` runs). */
function freshWith(agents: string[], extra: (run: (q: ReturnType<typeof sql>) => Promise<unknown>) => Promise<void> = async () => {}) {
  let d: TestDatabase;
  const h = { o: undefined as unknown as OpenedPostgres, run: (q: ReturnType<typeof sql>) => h.o.db.tx((t) => execute(t, q)) };
  beforeAll(async () => {
    d = await freshDatabase();
    h.o = await openPostgresDb(d.url, { poolMax: 2, nodeId: "A" });
    await h.run(sql`INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')`);
    for (const id of agents) await h.run(sql`INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (${id}, 'ws_1', ${id}, ${id}, 'ready')`);
    await extra(h.run);
  });
  afterAll(async () => {
    await h.o?.close();
    await d?.drop();
  });
  return h;
}

describePg("bounded reads on PostgreSQL", () => {
  const h = freshWith(["agent_a", "agent_b"]);
  const run = h.run;

  test("errorRate with `newest` on PostgreSQL equals the SQLite answers", async () => {
    const now = 10_000_000;
    const rows: [string, number, number][] = [];
    for (let i = 0; i < 20; i++) rows.push(["agent_a", 500, now - 1000 + i]);
    for (let i = 0; i < 5; i++) rows.push(["agent_b", 500, now - 500]);
    for (let i = 0; i < 10; i++) rows.push(["agent_a", 200, now - 100 + i]);
    rows.push(["agent_a", 200, now - 999_999]);
    for (const [a, s, at] of rows) await run(sql`INSERT INTO invocations (agent_id, source, status, latency_ms, at) VALUES (${a}, 'invoke', ${s}, 1, ${at})`);
    const log = new InvocationLog(h.o.db);
    expect(await log.errorRate("agent_a", 60_000, now)).toEqual({ windowMs: 60_000, count: 30, errors: 20, errorRate: 20 / 30 });
    expect(await log.errorRate("agent_a", 60_000, now, 11)).toEqual({ windowMs: 60_000, count: 10, errors: 0, errorRate: 0 });
    expect(await log.errorRate("agent_a", 60_000, now, 15)).toEqual({ windowMs: 60_000, count: 14, errors: 4, errorRate: 4 / 14 });
    expect(await log.errorRate("agent_a", 60_000, now, 1_000)).toEqual(await log.errorRate("agent_a", 60_000, now));
  });

  test("the orphan walk on PostgreSQL visits every agent id with jobs and says which exist", async () => {
    const runs = new ScheduleRunPruning(h.o.db);
    const ids = ["agent_a", "agent_gone_1", "Agent_gone_2", "agent-gone-3", "agent_b"];
    let n = 0;
    for (const a of ids) await run(sql`INSERT INTO jobs (id, kind, status, payload, agent_id, workspace_id) VALUES (${`job_${n++}`}, 'schedule.run', 'completed', '{}', ${a}, 'ws_1')`);
    const seen: [string, boolean][] = [];
    for (let at = await runs.nextAgentWithJobs(null); at; at = await runs.nextAgentWithJobs(at.agentId)) seen.push([at.agentId, at.exists]);
    expect(seen.map((s) => s[0]).sort()).toEqual([...ids].sort());
    expect(seen.filter((s) => s[1]).map((s) => s[0]).sort()).toEqual(["agent_a", "agent_b"]);
  });
});

describePg("big ids on PostgreSQL", () => {
  const h = freshWith(["agent_a"], async (run) => {
    await run(sql.raw(`SELECT setval(pg_get_serial_sequence('invocations', 'id'), 5000000000)`));
    await run(sql.raw(`SELECT setval(pg_get_serial_sequence('agent_logs', 'id'), 5000000000)`));
  });

  test("errorRate(newest) and a retention pass work with ids past 2^32", async () => {
    const now = Date.now();
    for (let i = 0; i < 30; i++) await h.run(sql`INSERT INTO invocations (agent_id, source, status, latency_ms, at) VALUES ('agent_a', 'invoke', ${i < 10 ? 500 : 200}, 1, ${now - 1000 + i})`);
    for (let i = 0; i < 30; i++) await h.run(sql`INSERT INTO agent_logs (agent_id, level, message, at) VALUES ('agent_a', 'info', 'hello', ${now - 1000 + i})`);
    const log = new InvocationLog(h.o.db);
    expect(await log.errorRate("agent_a", 60_000, now, 25)).toEqual({ windowMs: 60_000, count: 25, errors: 5, errorRate: 5 / 25 });
    const r = await new Pruner(h.o.db, { maxAgeDays: 1, maxInvocations: 20, maxLogLines: 20, maxLogBytes: 50 }).prune();
    expect(r.invocations).toBe(10);
    expect(r.logs).toBe(20); // 10 lines of 5 bytes = 50 bytes kept
  });
});
