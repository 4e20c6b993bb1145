/**
 * Upload → deploy → key → invoke → revoke, over real HTTP with the real sandbox and esbuild.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";
import { echoBackend, echoBackendV2, forbiddenImportBackend, throwsAtLoadBackend } from "../fixtures/backends";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

async function waitDeployed(agentId: string, server = s) {
  for (let i = 0; i < 200; i++) {
    const r = await server.json(`/v1/deploy/${agentId}/status`);
    const d = r.body.data.deployment;
    if (d && d.status !== "deploying") return r.body.data;
    await Bun.sleep(25);
  }
  throw new Error("deployment did not finish");
}

async function upload(name: string, code: string, server = s, extra: Record<string, unknown> = {}) {
  return server.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", ...extra } });
}

const invoke = (slug: string, key: string | null, body: unknown = {}) =>
  fetch(`${s.url}/v1/invoke/${slug}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key !== null ? { authorization: key } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe("upload, deploy, keys, invoke", () => {
  let agentId: string;
  let slug: string;
  let key: string;
  let keyId: string;

  test("upload creates version 1, ready", async () => {
    const r = await upload("Echo Service", echoBackend);
    expect(r.status).toBe(201);
    agentId = r.body.data.agent.id;
    slug = r.body.data.agent.slug;
    expect(slug).toBe("echo-service");
    expect(r.body.data.agent.status).toBe("ready");
    expect(r.body.data.agent.endpointUrl).toBeNull();
  });

  test("invoke before deploy is not_deployed; endpoint is endpoint_not_available", async () => {
    const k = await s.json(`/v1/agents/${agentId}/api-keys`, { method: "POST", json: { name: "early" } });
    const r = await invoke(slug, `Bearer ${k.body.data.key}`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("not_deployed");
    const e = await s.json(`/v1/deploy/${agentId}/endpoint`);
    expect(e.status).toBe(404);
    expect(e.body.error.code).toBe("endpoint_not_available");
  });

  test("deploy goes live", async () => {
    const r = await s.json(`/v1/deploy/${agentId}`, { method: "POST" });
    expect(r.status).toBe(202);
    expect(r.body.data).toMatchObject({ agentId, status: "deploying", endpointUrl: null });
    expect(r.body.data.jobId).toMatch(/^job_/);
    const st = await waitDeployed(agentId);
    expect(st.agentStatus).toBe("deployed");
    expect(st.endpointUrl).toBe(`${s.url}/v1/invoke/${slug}`);
  });

  test("create key returns the raw key once, metadata after", async () => {
    const r = await s.json(`/v1/agents/${agentId}/api-keys`, { method: "POST", json: { name: "Production" } });
    expect(r.status).toBe(201);
    key = r.body.data.key;
    keyId = r.body.data.apiKey.id;
    expect(key).toMatch(/^ctp_ak_[A-Za-z0-9]{32}$/);
    expect(r.body.data.apiKey).toMatchObject({ agentId, name: "Production", status: "active", lastFour: key.slice(-4), prefix: key.slice(0, 11) });
    const list = await s.json(`/v1/agents/${agentId}/api-keys`);
    expect(JSON.stringify(list.body)).not.toContain(key);
  });

  test("invoke returns the envelope with the backend's answer", async () => {
    const r = await invoke(slug, `Bearer ${key}`, { name: "Ada" });
    expect(r.status).toBe(200);
    expect(r.body.data.status).toBe(200);
    expect(r.body.data.ok).toBe(true);
    expect(typeof r.body.data.latencyMs).toBe("number");
    expect(r.body.data.response).toEqual({ hello: "Ada", version: 1 });
  });

  test("backend-level validation errors come back inside a 200 envelope", async () => {
    const r = await invoke(slug, `Bearer ${key}`, { name: 42 });
    expect(r.status).toBe(200);
    expect(r.body.data.status).toBe(400);
    expect(r.body.data.ok).toBe(false);
  });

  test.each([
    ["missing", null, 401, "missing_agent_api_key"],
    ["not bearer", "Basic abc", 401, "malformed_agent_api_key"],
    ["platform token", "PT", 401, "malformed_agent_api_key"],
    ["unknown key", "Bearer ctp_ak_00000000000000000000000000000000", 401, "invalid_agent_api_key"],
  ])("%s key → %s", async (_, header, status, code) => {
    const r = await invoke(slug, header === "PT" ? `Bearer ${s.token}` : header);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
  });

  test("invalid JSON body → invalid_json", async () => {
    const r = await invoke(slug, `Bearer ${key}`, "{not json");
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_json");
  });

  test("the app URL routes any path, with the key", async () => {
    const r = await fetch(`${s.url}/apps/${slug}/ping`, { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ pong: true });
    const noKey = await fetch(`${s.url}/apps/${slug}/ping`);
    expect(noKey.status).toBe(401);
    const docs = await fetch(`${s.url}/apps/${slug}/_docs/openapi.json`, { headers: { authorization: `Bearer ${key}` } });
    const spec = (await docs.json()) as any;
    expect(spec.openapi).toBe("3.1.0");
    expect(Object.keys(spec.paths)).toContain("/ping");
  });

  test("rotate issues a new key and kills the old one", async () => {
    const r = await s.json(`/v1/agents/${agentId}/api-keys/${keyId}/rotate`, { method: "POST" });
    expect(r.status).toBe(200);
    const fresh = r.body.data.key;
    expect(fresh).not.toBe(key);
    expect((await invoke(slug, `Bearer ${key}`)).body.error.code).toBe("agent_api_key_revoked");
    expect((await invoke(slug, `Bearer ${fresh}`)).status).toBe(200);
    key = fresh;
    keyId = r.body.data.apiKey.id;
  });

  test("revoke takes effect at once: 401 agent_api_key_revoked", async () => {
    expect((await invoke(slug, `Bearer ${key}`)).status).toBe(200);
    const r = await s.json(`/v1/agents/${agentId}/api-keys/${keyId}/revoke`, { method: "POST" });
    expect(r.body.data.apiKey.status).toBe("revoked");
    const after = await invoke(slug, `Bearer ${key}`);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("agent_api_key_revoked");
  });

  test("invocations are logged and metrics computed", async () => {
    const inv = await s.json(`/v1/agents/${agentId}/invocations?limit=100`);
    expect(inv.body.data.length).toBeGreaterThanOrEqual(4);
    expect(inv.body.data[0]).toHaveProperty("latencyMs");
    const m = await s.json(`/v1/agents/${agentId}/metrics`);
    expect(m.body.data.count).toBe(inv.body.data.length);
    expect(m.body.data.latencyMs.p50).not.toBeNull();
  });

  test("new version, deploy, rollback is instant", async () => {
    const put = await s.json(`/v1/agents/${agentId}/source`, { method: "PUT", json: { files: { "index.ts": echoBackendV2 }, entrypoint: "index.ts" } });
    expect(put.body.data.version).toBe(2);
    await s.json(`/v1/deploy/${agentId}`, { method: "POST" });
    await waitDeployed(agentId);
    const k = (await s.json(`/v1/agents/${agentId}/api-keys`, { method: "POST", json: {} })).body.data.key;
    expect((await invoke(slug, `Bearer ${k}`)).body.data.response.version).toBe(2);
    const rb = await s.json(`/v1/agents/${agentId}/rollback`, { method: "POST", json: { version: 1 } });
    expect(rb.body.data.agent.liveVersion).toBe(1);
    expect((await invoke(slug, `Bearer ${k}`)).body.data.response.version).toBe(1);
    const versions = await s.json(`/v1/agents/${agentId}/versions`);
    expect(versions.body.data.map((v: any) => [v.version, v.live])).toEqual([
      [2, false],
      [1, true],
    ]);
  });
});

describe("refusals", () => {
  test("a forbidden import is rejected with its diagnostic; nothing is stored", async () => {
    const before = (await s.json("/v1/agents?limit=100")).body.data.length;
    const r = await upload("Bad Imports", forbiddenImportBackend);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("build_failed");
    expect(JSON.stringify(r.body.error.details)).toContain("node:fs");
    expect((await s.json("/v1/agents?limit=100")).body.data.length).toBe(before);
  });

  test("a bundle that throws at load never becomes an agent", async () => {
    const r = await upload("Load Bomb", throwsAtLoadBackend);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("build_failed");
    expect(r.body.error.message).toContain("boom at load");
  });

  test("deploy of a generating agent: 409 agent_not_ready; twice at once: 409 deploy_in_progress", async () => {
    const a = (await upload("Twice", echoBackend)).body.data.agent;
    const [x, y] = await Promise.all([s.json(`/v1/deploy/${a.id}`, { method: "POST" }), s.json(`/v1/deploy/${a.id}`, { method: "POST" })]);
    expect([x.status, y.status].sort()).toEqual([202, 409]);
    expect([x, y].find((r) => r.status === 409)!.body.error.code).toBe("deploy_in_progress");
    await waitDeployed(a.id);
  });

  test("a key of another agent: 403 scope mismatch", async () => {
    const a = (await upload("Scope A", echoBackend, s, { autoDeploy: true })).body.data.agent;
    const b = (await upload("Scope B", echoBackend, s, { autoDeploy: true })).body.data.agent;
    await waitDeployed(a.id);
    await waitDeployed(b.id);
    const keyA = (await s.json(`/v1/agents/${a.id}/api-keys`, { method: "POST", json: {} })).body.data.key;
    const r = await invoke(b.slug, `Bearer ${keyA}`);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("agent_api_key_scope_mismatch");
  });
});

describe("workspaces are isolated", () => {
  test("another workspace's token sees 404 for agents and keys", async () => {
    const { createWorkspace } = await import("../../src/auth");
    const a = (await upload("Private One", echoBackend)).body.data.agent;
    const other = (await createWorkspace(s.db, "other")).token.token;
    const h = { authorization: `Bearer ${other}` };
    expect((await s.json(`/v1/agents/${a.id}`, { headers: h })).body.error.code).toBe("agent_not_found");
    expect((await s.json(`/v1/agents/${a.id}/api-keys`, { headers: h })).body.error.code).toBe("agent_not_found");
    expect((await s.json(`/v1/deploy/${a.id}`, { method: "POST", headers: h })).status).toBe(404);
    expect((await s.json(`/v1/agents`, { headers: h })).body.data).toEqual([]);
  });
});
