/**
 * The warm invoke path does no database I/O (issue 17): once an agent's live entry and a
 * key are cached, POST /v1/invoke/{slug} and /apps/{slug}/ read nothing from the database
 * and start no write transaction of their own; the invocation log and lastUsedAt reach the
 * database only through their batch flushes. Real server, real sandbox; the spies count
 * statements prepared on the read connection and transactions opened through the gate.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { startServer, type TestServer } from "../harness";
import { echoBackend } from "../fixtures/backends";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

test("warm calls read nothing and open no transaction outside the batch flushes", async () => {
  const up = await s.json("/v1/agents", { method: "POST", json: { name: "Warm Echo", files: { "index.ts": echoBackend }, entrypoint: "index.ts", public: true } });
  expect(up.status).toBe(201);
  const { id, slug } = up.body.data.agent;
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST" })).status).toBe(202);
  for (let i = 0; i < 400 && (await s.json(`/v1/deploy/${id}/status`)).body.data.agentStatus !== "deployed"; i++) await Bun.sleep(25);
  const key = (await s.json(`/v1/agents/${id}/api-keys`, { method: "POST", json: { name: "k" } })).body.data.key as string;
  const invoke = () => fetch(`${s.url}/v1/invoke/${slug}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ name: "Ada" }) });
  const app = () => fetch(`${s.url}/apps/${slug}/`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  // Cold: the live entry and the key are read once and cached.
  expect((await invoke()).status).toBe(200);
  expect((await app()).status).toBeLessThan(500);

  const db = s.app.internals.http.db;
  const reader = (db as unknown as { $client: Database }).$client;
  let reads = 0;
  const { prepare, query } = reader;
  reader.prepare = ((...a: Parameters<typeof prepare>) => (reads++, prepare.apply(reader, a))) as typeof prepare;
  reader.query = ((...a: Parameters<typeof query>) => (reads++, query.apply(reader, a))) as typeof query;
  const txFrom: string[] = [];
  const tx = db.tx;
  (db as { tx: typeof tx }).tx = ((fn: Parameters<typeof tx>[0]) => (txFrom.push(new Error().stack ?? ""), tx.call(db, fn))) as typeof tx;
  try {
    for (let i = 0; i < 40; i++) {
      expect((await invoke()).status).toBe(200);
      expect((await app()).status).toBeLessThan(500);
    }
  } finally {
    reader.prepare = prepare;
    reader.query = query;
    (db as { tx: typeof tx }).tx = tx;
  }
  expect(reads).toBe(0);
  // Transactions in the window come from the background flushes only (invocation log, key usage).
  expect(txFrom.filter((stack) => !/flush/i.test(stack))).toEqual([]);
}, 60_000);
