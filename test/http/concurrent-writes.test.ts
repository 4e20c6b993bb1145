/**
 * Writes that depend on what their transaction read, sent N at a time (issue 18). On SQLite
 * the write gate runs one transaction at a time, so each request sees the one before it; on
 * PostgreSQL (`CANTRIP_TEST_DB=postgres`) transactions run concurrently under READ
 * COMMITTED, and without the locks the code now takes (`t.lock`: agent, workspace, slug,
 * credential name, an agent's kv) every request read the same state: eight deploys all
 * answered 202, concurrent uploads of one agent collided on the version number (500), a
 * workspace passed its agent cap, same-name agents collided on the slug (500), and an
 * agent's kv went past its byte quota. Each test here fails on the old code on PostgreSQL.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { count, eq, sql } from "drizzle-orm";
import { startServer, testDialect, type TestServer } from "../harness";
import { queryRow } from "../../src/db";
import { echoBackend, echoBackendV2 } from "../fixtures/backends";
import { createSqliteKv } from "../../src/runtime/kv-sqlite";
import { agents, kv, workspaces } from "../../src/db/schema";
import { insertAgent } from "../../src/agents/lifecycle";

const N = 8;
let s: TestServer;
beforeAll(async () => {
  s = await startServer({ CANTRIP_WORKSPACE_MAX_AGENTS: "40" });
});
afterAll(() => s.stop());

const upload = (name: string, code = echoBackend) => s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts" } });
const statuses = (rs: { status: number }[]) => rs.map((r) => r.status).sort();

async function waitSettled(agentId: string) {
  for (let i = 0; i < 400; i++) {
    const d = (await s.json(`/v1/deploy/${agentId}/status`)).body.data.deployment;
    if (d && d.status !== "deploying") return;
    await Bun.sleep(25);
  }
  throw new Error("deployment did not finish");
}

test(`${N} deploy requests of one agent at once: one 202, the others 409 deploy_in_progress`, async () => {
  const a = (await upload("Deploy race")).body.data.agent;
  const rs = await Promise.all(Array.from({ length: N }, () => s.json(`/v1/deploy/${a.id}`, { method: "POST" })));
  expect(statuses(rs)).toEqual([202, ...Array(N - 1).fill(409)]);
  for (const r of rs.filter((r) => r.status === 409)) expect(r.body.error.code).toBe("deploy_in_progress");
  await waitSettled(a.id);
  const deployments = await s.json(`/v1/deploy/${a.id}/status`);
  expect(deployments.body.data.agentStatus).toBe("deployed");
});

test(`${N} new source versions of one agent at once: all stored, numbered 2 … ${N + 1}`, async () => {
  const a = (await upload("Version race")).body.data.agent;
  const rs = await Promise.all(
    Array.from({ length: N }, () => s.json(`/v1/agents/${a.id}/source`, { method: "PUT", json: { files: { "index.ts": echoBackendV2 }, entrypoint: "index.ts" } })),
  );
  expect(statuses(rs)).toEqual(Array(N).fill(200));
  expect((await s.json(`/v1/agents/${a.id}`)).body.data.latestVersion).toBe(N + 1);
});

test(`${N} agents with one name at once: all created, each with its own slug`, async () => {
  const rs = await Promise.all(Array.from({ length: N }, () => upload("Same Name Race")));
  expect(statuses(rs)).toEqual(Array(N).fill(201));
  const slugs = rs.map((r) => r.body.data.agent.slug as string);
  expect(new Set(slugs).size).toBe(N);
  for (const slug of slugs) expect(slug).toMatch(/^same-name-race(-\d+)?$/);
});

test(`${N} credentials with one name at once: one 201, the others 409 conflict`, async () => {
  const rs = await Promise.all(
    Array.from({ length: N }, (_, i) => s.json("/api/v1/credentials", { method: "POST", json: { name: "RACE_KEY", value: `v${i}`, hosts: ["api.example.com"] } })),
  );
  expect(statuses(rs)).toEqual([201, ...Array(N - 1).fill(409)]);
  for (const r of rs.filter((r) => r.status === 409)) expect(r.body.error.code).toBe("conflict");
});

test("a workspace's agent cap holds against creations at once", async () => {
  const capped = await startServer({ CANTRIP_WORKSPACE_MAX_AGENTS: "3" });
  try {
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) => capped.json("/v1/agents", { method: "POST", json: { name: `capped ${i}`, files: { "index.ts": echoBackend }, entrypoint: "index.ts" } })),
    );
    expect(statuses(rs)).toEqual([...Array(3).fill(201), ...Array(N - 3).fill(409)]);
    for (const r of rs.filter((r) => r.status === 409)) expect(r.body.error.code).toBe("agent_limit_reached");
    expect((await capped.db.select({ n: count() }).from(agents))[0]!.n).toBe(3);
  } finally {
    await capped.stop();
  }
});

test(`an agent's kv byte quota holds against ${N * 2} concurrent sets`, async () => {
  const a = (await upload("Kv quota race")).body.data.agent;
  const store = createSqliteKv(s.db);
  // Each value is 10 bytes ("k00" + 7 bytes of JSON text); the quota admits five.
  const limits = { kvValueBytes: 100, kvTotalBytes: 50 };
  const keys = Array.from({ length: N * 2 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  const results = await Promise.allSettled(keys.map((k) => store.set(a.id, k, "xxxxx", limits)));
  const stored = keys.filter((_, i) => results[i]!.status === "fulfilled");
  expect(stored.length).toBe(5);
  for (const r of results) if (r.status === "rejected") expect(String(r.reason)).toMatch(/over this agent's limit of 50 bytes/);
  const used = (await s.db.select({ n: sql<number>`coalesce(sum(${kv.size}), 0)`.mapWith(Number) }).from(kv).where(eq(kv.agentId, a.id)))[0]!.n;
  expect(used).toBe(50);
  // Deletes and overwrites at once keep the total exact too.
  await Promise.all([store.delete(a.id, stored[0]!), store.delete(a.id, stored[1]!), store.set(a.id, stored[2]!, "x", limits)]);
  const left = (await s.db.select({ n: sql<number>`coalesce(sum(${kv.size}), 0)`.mapWith(Number) }).from(kv).where(eq(kv.agentId, a.id)))[0]!.n;
  expect(left).toBe(50 - 20 - 4);
  // On PostgreSQL the total every node reads is the agent's kv_usage row: it matches the rows.
  if (testDialect === "postgres") expect(Number((await queryRow<{ bytes: string }>(s.db, sql`SELECT bytes FROM kv_usage WHERE agent_id = ${a.id}`))?.bytes)).toBe(left);
});

test(`${N} agent rows inserted at once into a workspace capped at 3: three, with distinct slugs`, async () => {
  // Below the HTTP layer, where the bundle build (one load worker) no longer spaces the
  // transactions out: each one counts the workspace's agents and picks a slug, then inserts.
  await s.db.tx((t) => t.insert(workspaces).values({ id: "ws_race", name: "race" }));
  const rs = await Promise.allSettled(Array.from({ length: N }, () => s.db.tx((t) => insertAgent(t, { workspaceId: "ws_race", name: "Row Race", status: "ready" }, 3))));
  expect(rs.filter((r) => r.status === "fulfilled").length).toBe(3);
  for (const r of rs) if (r.status === "rejected") expect((r.reason as { code?: string }).code).toBe("agent_limit_reached");
  const rows = await s.db.select({ slug: agents.slug }).from(agents).where(eq(agents.workspaceId, "ws_race"));
  expect(rows.map((r) => r.slug).sort()).toEqual(["row-race", "row-race-2", "row-race-3"]);
});
