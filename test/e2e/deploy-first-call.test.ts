/**
 * A deploy hands its new live entry straight to the gateway (issue 15, cold start): the
 * entry is read inside the transaction that moves the live pointer and cached as it
 * commits, so the first call after the switch reads no agent, version or grant from the
 * database; a later change (stop, redeploy) still drops it. Real server, real sandbox, real
 * SQLite file; a spy records statements prepared on the read connection.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { startServer, type TestServer } from "../harness";
import { echoBackend, echoBackendV2 } from "../fixtures/backends";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

async function waitDeployed(id: string, version: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const st = (await s.json(`/v1/deploy/${id}/status`)).body.data;
    if (st.agentStatus === "deployed" && st.liveVersion === version && st.deployment?.status === "deployed") return;
    await Bun.sleep(10);
  }
  throw new Error(`version ${version} of ${id} never went live`);
}

/** Runs `fn`, returning the stacks of every statement prepared on the read connection meanwhile. */
async function readsDuring(fn: () => Promise<void>): Promise<string[]> {
  const reader = (s.app.internals.http.db as unknown as { $client: Database }).$client;
  const stacks: string[] = [];
  const { prepare, query } = reader;
  reader.prepare = ((...a: Parameters<typeof prepare>) => (stacks.push(new Error().stack ?? ""), prepare.apply(reader, a))) as typeof prepare;
  reader.query = ((...a: Parameters<typeof query>) => (stacks.push(new Error().stack ?? ""), query.apply(reader, a))) as typeof query;
  try {
    await fn();
  } finally {
    reader.prepare = prepare;
    reader.query = query;
  }
  return stacks;
}

test("the first call after a deploy finds the live entry cached: no live-cache read, the new version answers", async () => {
  const up = await s.json("/v1/agents", { method: "POST", json: { name: "First Call", files: { "index.ts": echoBackend }, entrypoint: "index.ts" } });
  expect(up.status).toBe(201);
  const { id, slug } = up.body.data.agent;
  const key = (await s.json(`/v1/agents/${id}/api-keys`, { method: "POST", json: { name: "k" } })).body.data.key as string;
  const invoke = () => fetch(`${s.url}/v1/invoke/${slug}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
  // Before the deploy: the key is verified and cached, the agent is cached as not deployed.
  expect((await invoke()).status).toBe(409);
  const live = s.app.internals.http.live;
  expect(live.peek(slug)?.ref).toBeNull();

  expect((await s.json(`/v1/deploy/${id}`, { method: "POST" })).status).toBe(202);
  await waitDeployed(id, 1);
  // Handed over by the deploy, not filled by a call.
  expect(live.peek(slug)?.version).toBe(1);
  expect(live.peek(slug)?.agent.liveVersion).toBe(1);
  expect(live.peek(slug)?.agent.status).toBe("deployed");

  let answer: any;
  const reads = await readsDuring(async () => {
    const r = await invoke();
    expect(r.status).toBe(200);
    answer = await r.json();
  });
  expect(answer.data.response).toEqual({ hello: "world", version: 1 });
  expect(reads.filter((stack) => /live-cache|runtime-config/.test(stack))).toEqual([]);

  // A redeploy replaces the entry with the new version; a stop drops it.
  const v2 = await s.json(`/v1/agents/${id}/source`, { method: "PUT", json: { files: { "index.ts": echoBackendV2 }, entrypoint: "index.ts" } });
  expect(v2.status).toBe(200);
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST" })).status).toBe(202);
  await waitDeployed(id, 2);
  expect(live.peek(slug)?.version).toBe(2);
  expect((await (await invoke()).json()).data.response.version).toBe(2);
  expect((await s.json(`/v1/deploy/${id}/stop`, { method: "POST" })).status).toBe(200);
  expect(live.peek(slug)).toBeUndefined();
  expect((await invoke()).status).toBe(409);
}, 60_000);
