/**
 * Cluster-wide chores on two nodes sharing one PostgreSQL database: every node runs the
 * scheduler's tick and the error-rate monitor, and each must act once for the cluster, not
 * once per node. The two nodes are full servers booted in this process (two pools, two
 * LISTEN connections, so their transactions really run concurrently on the server), with the
 * loops off so the test drives both with one fake clock — what real processes do at random
 * moments, done here at the worst moment every time (a naive port fired 400–450 of 550 runs
 * twice on two nodes; the in-memory heal cooldown queues one heal per node).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { and, eq } from "drizzle-orm";
import { boot, type Cantrip } from "../../src/boot";
import { loadConfig } from "../../src/config";
import { silentLogger } from "../../src/http";
import { agents, conversations, jobs } from "../../src/db/schema";
import { TEST_SECRET_KEY, tempDir } from "../harness";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

const ticker = `
import { defineBackend } from "cantrip";
export default defineBackend({
  routes: { "GET /": async (_input, ctx) => ({ ticks: (await ctx.kv.get("ticks")) ?? 0 }) },
  scheduled: async (ctx) => { await ctx.kv.set("ticks", ((await ctx.kv.get("ticks")) ?? 0) + 1); },
});
`;

describePg("cluster-wide chores on two nodes", () => {
  let db: TestDatabase;
  let a: Cantrip;
  let b: Cantrip;
  let token: string;

  const bootNode = () =>
    boot(
      loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: tempDir(), CANTRIP_LOG_REQUESTS: "false", CANTRIP_DATABASE_URL: db.url, CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DB_POOL_MAX: "4" }),
      { logger: silentLogger, scheduler: false },
    );
  const call = async (node: Cantrip, method: string, path: string, body?: unknown) => {
    const r = await fetch(node.url + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any };
  };
  async function deployedTicker(name: string): Promise<string> {
    const created = await call(a, "POST", "/v1/agents", { name, files: { "index.ts": ticker }, entrypoint: "index.ts", autoDeploy: true });
    expect(created.status).toBe(201);
    const id: string = created.body.data.agent.id;
    for (let i = 0; i < 400; i++) {
      const st = await call(a, "GET", `/v1/deploy/${id}/status`);
      if (st.body.data.deployment?.status === "deployed") return id;
      if (st.body.data.deployment?.status === "failed") throw new Error(JSON.stringify(st.body.data.deployment));
      await Bun.sleep(25);
    }
    throw new Error("ticker not deployed");
  }

  beforeAll(async () => {
    db = await freshDatabase("chores_");
    a = await bootNode();
    b = await bootNode();
    token = readFileSync(a.adminTokenFile, "utf8").trim();
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  test("a schedule fires exactly once per occurrence when both nodes tick at the same moment", async () => {
    const agentId = await deployedTicker("Cluster Ticker");
    const put = await call(a, "PUT", `/v1/agents/${agentId}/schedule`, { cron: "* * * * *" });
    expect(put.status).toBe(200);
    const rounds = 20;
    let queued = 0;
    for (let r = 0; r < rounds; r++) {
      const next: string = (await call(b, "GET", `/v1/agents/${agentId}/schedule`)).body.data.nextRunAt;
      const now = Date.parse(next) + 1;
      const [qa, qb] = await Promise.all([a.internals.scheduler.tick(now), b.internals.scheduler.tick(now)]);
      queued += qa + qb;
    }
    const store = a.internals.store.db;
    const runs = await store.select({ payload: jobs.payload }).from(jobs).where(and(eq(jobs.kind, "schedule.run"), eq(jobs.agentId, agentId)));
    const occurrences = new Set(runs.map((r) => (r.payload as { scheduledFor: number }).scheduledFor));
    expect({ queued, jobs: runs.length, occurrences: occurrences.size }).toEqual({ queued: rounds, jobs: rounds, occurrences: rounds });
  });

  test("the error-rate monitor queues one repair for the cluster, and the cooldown holds on the other node", async () => {
    const agentId = await deployedTicker("Cluster Failing App");
    const [{ workspaceId }] = (await a.internals.store.db.select({ workspaceId: agents.workspaceId }).from(agents).where(eq(agents.id, agentId))) as [{ workspaceId: string }];
    const conversationId = `conv_cluster_${Date.now()}`;
    await a.internals.store.db.tx(async (t) => {
      await t.insert(conversations).values({ id: conversationId, workspaceId, agentId, name: "Cluster Failing App", status: "deployed", prompt: "an app whose calls fail" });
    });
    // 30 failed calls in the window, half recorded by each node (each node logs what it served).
    const now = Date.now();
    for (let i = 0; i < 30; i++)
      (i % 2 ? a : b).internals.invocations.record({ agentId, version: 1, keyId: null, source: "app", method: "GET", path: "/", status: 502, latencyMs: 3, errorCode: "endpoint_unreachable", requestId: `r${i}`, at: now - i * 1000 });
    await Promise.all([a.internals.invocations.flush(), b.internals.invocations.flush()]);

    const [qa, qb] = await Promise.all([a.internals.scheduler.monitor(now), b.internals.scheduler.monitor(now)]);
    expect([...qa, ...qb]).toEqual([conversationId]);
    // A minute later the node that did not queue it runs its pass: the cooldown is the cluster's.
    const later = await Promise.all([a.internals.scheduler.monitor(now + 60_000), b.internals.scheduler.monitor(now + 60_000)]);
    expect(later.flat()).toEqual([]);
    const heals = await a.internals.store.db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.kind, "builder.turn"), eq(jobs.agentId, agentId)));
    expect(heals).toHaveLength(1);
  });
});
