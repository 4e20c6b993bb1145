/** The bounded reads with invocation ids past 2^32 on PostgreSQL (bigserial; ~2 days at 25,000 calls/s); written by an attack review, it held. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { execute } from "../../src/db";
import { openPostgresDb, type OpenedPostgres } from "../../src/db/pg-client";
import { InvocationLog } from "../../src/gateway";
import { Pruner } from "../../src/retention";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

describePg("big ids on PostgreSQL", () => {
  let d: TestDatabase;
  let o: OpenedPostgres;
  const run = (q: ReturnType<typeof sql>) => o.db.tx((t) => execute(t, q));
  beforeAll(async () => {
    d = await freshDatabase();
    o = await openPostgresDb(d.url, { poolMax: 2, nodeId: "A" });
    await run(sql`INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')`);
    await run(sql`INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agent_a', 'ws_1', 'a', 'a', 'ready')`);
    await run(sql.raw(`SELECT setval(pg_get_serial_sequence('invocations', 'id'), 5000000000)`));
    await run(sql.raw(`SELECT setval(pg_get_serial_sequence('agent_logs', 'id'), 5000000000)`));
  });
  afterAll(async () => {
    await o?.close();
    await d?.drop();
  });

  test("errorRate(newest) and a retention pass work with ids past 2^32", async () => {
    const now = Date.now();
    for (let i = 0; i < 30; i++) await run(sql`INSERT INTO invocations (agent_id, source, status, latency_ms, at) VALUES ('agent_a', 'invoke', ${i < 10 ? 500 : 200}, 1, ${now - 1000 + i})`);
    for (let i = 0; i < 30; i++) await run(sql`INSERT INTO agent_logs (agent_id, level, message, at) VALUES ('agent_a', 'info', 'hello', ${now - 1000 + i})`);
    const log = new InvocationLog(o.db);
    expect(await log.errorRate("agent_a", 60_000, now, 25)).toEqual({ windowMs: 60_000, count: 25, errors: 5, errorRate: 5 / 25 });
    const r = await new Pruner(o.db, { maxAgeDays: 1, maxInvocations: 20, maxLogLines: 20, maxLogBytes: 50 }).prune();
    expect(r.invocations).toBe(10);
    expect(r.logs).toBe(20); // 10 lines of 5 bytes = 50 bytes kept
  });
});
