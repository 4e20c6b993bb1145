import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { startServer, type TestServer } from "../harness";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ CANTRIP_BODY_LIMIT: "2048" });
});
afterAll(() => s.stop());

describe("health", () => {
  test("healthz needs no auth", async () => {
    const r = await s.json("/healthz", { headers: { authorization: "" } });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("ok");
  });
  test("readyz reports the database migrated", async () => {
    const r = await s.json("/readyz");
    expect(r.status).toBe(200);
    expect(r.body.checks.database).toEqual({ ok: true, detail: "migrated" });
    expect(r.body.details.zombieThreads).toBe(0);
  });
});

describe("auth", () => {
  test("admin token file is mode 0600 and works", async () => {
    expect(statSync(s.app.adminTokenFile).mode & 0o777).toBe(0o600);
    expect(s.token).toMatch(/^ctp_pt_[A-Za-z0-9]{32}$/);
    const r = await s.json("/v1/agents");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: [], nextCursor: null });
  });
  test.each([
    ["missing", ""],
    ["unknown", "Bearer ctp_pt_00000000000000000000000000000000"],
    ["wrong scheme", `Basic abc`],
    ["agent key shape", "Bearer ctp_ak_00000000000000000000000000000000"],
  ])("%s token gets 401 unauthorized", async (_, authorization) => {
    const r = await s.json("/v1/agents", { headers: { authorization } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
    expect(r.body.error.requestId).toBe(r.res.headers.get("x-request-id")!);
  });
});

describe("errors", () => {
  test("unknown route is a JSON 404", async () => {
    const r = await s.json("/no/such/route");
    expect(r.status).toBe(404);
    expect(r.res.headers.get("content-type")).toContain("application/json");
    expect(r.body.error.code).toBe("not_found");
  });
  test("builder family renders its own envelope", async () => {
    const r = await s.json("/api/v1/nothing-here");
    expect(r.status).toBe(404);
    expect(r.body.success).toBe(false);
    expect(r.body.error.code).toBe("not_found");
  });
  test("pagination limit out of range is invalid_request naming the field", async () => {
    const r = await s.json("/v1/agents?limit=500");
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.details[0].field).toBe("query.limit");
  });
  test("oversize body is 413 payload_too_large", async () => {
    const r = await s.json("/v1/agents", { method: "POST", json: { name: "x".repeat(5000) } });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("payload_too_large");
  });
  test("non-JSON body on a JSON route is 415", async () => {
    const r = await s.json("/v1/agents", { method: "POST", body: "name=x", headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe("unsupported_media_type");
  });
  test("every response carries a request id; a sane client id is echoed", async () => {
    const a = await s.req("/healthz");
    expect(a.headers.get("x-request-id")).toMatch(/^req_[A-Za-z0-9]{16}$/);
    const b = await s.req("/healthz", { headers: { "x-request-id": "client-123" } });
    expect(b.headers.get("x-request-id")).toBe("client-123");
    const c = await s.req("/healthz", { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(c.headers.get("x-request-id")).toMatch(/^req_/);
  });
});

describe("docs", () => {
  test("openapi.json documents routes with summaries", async () => {
    const r = await s.json("/openapi.json", { headers: { authorization: "" } });
    expect(r.status).toBe(200);
    expect(r.body.paths["/v1/agents/"] ?? r.body.paths["/v1/agents"]).toBeDefined();
    for (const [path, ops] of Object.entries<any>(r.body.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) expect(`${method} ${path}: ${op.summary ?? ""}`).not.toEndWith(": ");
    }
  });
  test("docs page loads its assets from this server only", async () => {
    const res = await s.req("/docs");
    const html = await res.text();
    expect(res.status).toBe(200);
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) expect(u.startsWith("/")).toBe(true);
    expect(html).not.toMatch(/https?:\/\//);
    for (const u of urls) {
      const a = await s.req(u);
      expect(a.status).toBe(200);
      expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(100) // Swagger UI bundle and CSS, plus our small init script and dark-mode stylesheet;
    }
  });
});

test("oversize chunked body (no content-length) is 413", async () => {
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(1000)));
      c.close();
    },
  });
  const r = await fetch(s.url + "/v1/agents", {
    method: "POST",
    body: stream,
    headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json" },
  });
  expect(r.status).toBe(413);
  expect(((await r.json()) as any).error.code).toBe("payload_too_large");
});
