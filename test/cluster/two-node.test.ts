/**
 * Two real `cantrip serve` processes (test/cluster/nodes.ts) on one fresh PostgreSQL
 * database: what one node changes, the other serves at once. A deploy on A is served by B,
 * a new version deployed on A replaces the one B had cached, and a key revoked on A is
 * refused by B. Bounds: 1 s, polled every 2 ms; the measured delays are printed (the caches
 * are invalidated by a NOTIFY sent in the changing transaction, so B hears of it a few ms
 * after A's commit, not before A's answer).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { echoBackend, echoBackendV2 } from "../fixtures/backends";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";
import { client, invoke, startNode, stopAllNodes, until, type ClusterNode } from "./nodes";

/** How long B may lag A (ms); the design measured 0–2 ms. */
const BOUND_MS = 1_000;

describePg("two nodes on one database", () => {
  let db: TestDatabase;
  let a: ClusterNode;
  let b: ClusterNode;
  let onA: ReturnType<typeof client>;
  let onB: ReturnType<typeof client>;

  beforeAll(async () => {
    db = await freshDatabase("cl_");
    a = await startNode({ databaseUrl: db.url, name: "a" });
    b = await startNode({ databaseUrl: db.url, name: "b" });
    // The template is migrated but has no workspace: the first node bootstrapped it.
    const token = a.adminToken() ?? b.adminToken();
    expect(token).toBeString();
    expect([a.adminToken(), b.adminToken()].filter(Boolean)).toHaveLength(1);
    onA = client(a, token!);
    onB = client(b, token!);
  });
  afterAll(async () => {
    await stopAllNodes();
    await db?.drop();
  });

  async function waitDeployed(call: typeof onA, agentId: string, version: number): Promise<void> {
    await until(
      async () => {
        const st = await call("GET", `/v1/deploy/${agentId}/status`);
        const d = st.body.data?.deployment;
        if (d?.status === "failed") throw new Error(`deploy failed: ${JSON.stringify(d)}`);
        return d?.status === "deployed" && st.body.data?.liveVersion === version;
      },
      30_000,
      `deploy of v${version}`,
      25,
    );
  }

  test("a deploy on A is served by B; a new version deployed on A replaces B's cached one", async () => {
    const created = await onA("POST", "/v1/agents", { name: "Cluster Echo", files: { "index.ts": echoBackend }, entrypoint: "index.ts" });
    expect(created.status).toBe(201);
    const { id, slug } = created.body.data.agent;
    // Keys are created on B: A must see B's writes too.
    const k = await onB("POST", `/v1/agents/${id}/api-keys`, { name: "cluster" });
    expect(k.status).toBe(201);
    const key: string = k.body.data.key;

    // B has looked the agent up (and cached that nothing is live) before the deploy.
    const early = await invoke(b, slug, key);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe("not_deployed");

    expect((await onA("POST", `/v1/deploy/${id}`)).status).toBe(202);
    await waitDeployed(onA, id, 1);
    const firstServed = await until(async () => (await invoke(b, slug, key)).status === 200, BOUND_MS, "B serving the deploy made on A");
    expect((await invoke(b, slug, key, { name: "b" })).body.data.response).toEqual({ hello: "b", version: 1 });

    // v2 uploaded and deployed on A: B drops its cached v1.
    const v2 = await onA("PUT", `/v1/agents/${id}/source`, { files: { "index.ts": echoBackendV2 }, entrypoint: "index.ts" });
    expect(v2.body.data.version).toBe(2);
    expect((await onA("POST", `/v1/deploy/${id}`)).status).toBe(202);
    await waitDeployed(onA, id, 2);
    const versionOnB = async () => (await invoke(b, slug, key)).body?.data?.response?.version;
    const v2Served = await until(async () => (await versionOnB()) === 2, BOUND_MS, "B serving v2 deployed on A");
    // A rollback on A (no job: the live pointer moves in one transaction) reaches B too.
    const rb = await onA("POST", `/v1/agents/${id}/rollback`, { version: 1 });
    expect(rb.body.data.agent.liveVersion).toBe(1);
    const rolledBack = await until(async () => (await versionOnB()) === 1, BOUND_MS, "B serving v1 after the rollback on A");
    console.log(
      `[cluster] deploy on A → served by B: ${firstServed.ms.toFixed(1)} ms after A reported deployed (${firstServed.probes} probes); v2: ${v2Served.ms.toFixed(1)} ms (${v2Served.probes} probes); rollback: ${rolledBack.ms.toFixed(1)} ms (${rolledBack.probes} probes); bound ${BOUND_MS} ms`,
    );
  });

  test("a key revoked on A is refused by B", async () => {
    const created = await onA("POST", "/v1/agents", { name: "Cluster Keys", files: { "index.ts": echoBackend }, entrypoint: "index.ts", autoDeploy: true });
    expect(created.status).toBe(201);
    const { id, slug } = created.body.data.agent;
    await waitDeployed(onA, id, 1);
    const k = await onA("POST", `/v1/agents/${id}/api-keys`, { name: "doomed" });
    const key: string = k.body.data.key;
    const keyId: string = k.body.data.apiKey.id;
    // B has verified (and cached) the key.
    await until(async () => (await invoke(b, slug, key)).status === 200, 5_000, "B accepting the key", 25);
    expect((await invoke(b, slug, key)).status).toBe(200);

    const revoked = await onA("POST", `/v1/agents/${id}/api-keys/${keyId}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.data.apiKey.status).toBe("revoked");
    // On A itself the revoke holds before its call returned.
    expect((await invoke(a, slug, key)).body.error?.code).toBe("agent_api_key_revoked");
    let refusal: { status: number; body: any } | undefined;
    const refused = await until(
      async () => {
        const r = await invoke(b, slug, key);
        if (r.status === 200) return false;
        refusal = r;
        return true;
      },
      BOUND_MS,
      "B refusing the key revoked on A",
      1,
    );
    expect(refusal!.status).toBe(401);
    expect(refusal!.body.error.code).toBe("agent_api_key_revoked");
    console.log(`[cluster] key revoked on A → refused by B: ${refused.ms.toFixed(1)} ms after the revoke answered (${refused.probes} probes; ${refused.probes === 1 ? "refused on the first call" : `${refused.probes - 1} calls accepted first`}); bound ${BOUND_MS} ms`);
    // A fresh key keeps working on both (the revoke evicted one key, not the agent).
    const fresh = (await onA("POST", `/v1/agents/${id}/api-keys`, { name: "fresh" })).body.data.key;
    expect((await invoke(b, slug, fresh)).status).toBe(200);
    expect((await invoke(a, slug, fresh)).status).toBe(200);
  });
});
