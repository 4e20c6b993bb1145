/**
 * Two nodes whose data dirs carry the same `node-id` (a data dir copied, an image baked after
 * a first start): the bus names each message with its sender so a node can skip its own
 * notifications (it delivered them locally at commit). When that name was the node id, B
 * skipped every message A sent, and A's own heartbeats looked like B's, so B never resynced:
 * an agent deployed on A stayed "not deployed" on B, and a key revoked on A stayed accepted by
 * B, with no bound at all. The bus now names the
 * process, not the data dir.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { echoBackend } from "../fixtures/backends";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";
import { client, invoke, startNode, stopAllNodes, until, type ClusterNode } from "./nodes";

describePg("two nodes with one node-id", () => {
  let db: TestDatabase;
  let a: ClusterNode;
  let b: ClusterNode;

  beforeAll(async () => {
    db = await freshDatabase("nodeid_");
    a = await startNode({ databaseUrl: db.url, name: "a", nodeId: "node_copied" });
    b = await startNode({ databaseUrl: db.url, name: "b", nodeId: "node_copied" });
  });
  afterAll(async () => {
    await stopAllNodes();
    await db?.drop();
  });

  test("B serves a deploy made on A, and refuses a key revoked on A, within the cluster bound", async () => {
    const onA = client(a, (a.adminToken() ?? b.adminToken())!);
    const created = await onA("POST", "/v1/agents", { name: "Copied Id", files: { "index.ts": echoBackend }, entrypoint: "index.ts", autoDeploy: false });
    expect(created.status).toBe(201);
    const { id, slug } = created.body.data.agent;
    const k = await onA("POST", `/v1/agents/${id}/api-keys`, { name: "doomed" });
    const key: string = k.body.data.key;
    // B looks the agent up (and caches it) before and after the deploy A runs (started only
    // now: with autoDeploy the deploy could finish before B's first look).
    expect((await invoke(b, slug, key)).status).not.toBe(200);
    expect((await onA("POST", `/v1/deploy/${id}`)).status).toBe(202);
    await until(async () => (await invoke(a, slug, key)).status === 200, 30_000, "A serving the agent", 25);
    await until(async () => (await invoke(b, slug, key)).status === 200, 1_000, "B serving the agent deployed on A", 5);
    expect((await onA("POST", `/v1/agents/${id}/api-keys/${k.body.data.apiKey.id}/revoke`)).status).toBe(200);
    // The heartbeat backstop is 5 s; the bus itself delivers within milliseconds.
    await until(async () => (await invoke(b, slug, key)).status === 401, 1_000, "B refusing the key revoked on A", 5);
  }, 60_000);
});
