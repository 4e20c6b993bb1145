/**
 * The origin model over real HTTP (issue 13 §1, issue 12 §1 and §6): the dashboard's
 * session cookie and its CSRF rule, the apps listener and host routing, the URLs clients
 * are given, the /apps header policy on each origin, and the baseline headers on every
 * platform response. The browser-level proof is test/e2e/app-origin.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startServer, tempDir, type TestServer } from "../harness";
import { hostileAppBackend } from "../fixtures/hostile-app";

async function deploy(s: TestServer, name: string, code: string, extra: Record<string, unknown> = {}) {
  const up = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", ...extra } });
  expect(up.status).toBe(201);
  const id = up.body.data.agent.id as string;
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST", json: {} })).status).toBe(202);
  for (let i = 0; i < 400; i++) {
    const a = await s.json(`/v1/agents/${id}`);
    if (a.body.data.status === "deployed") return a.body.data as { id: string; slug: string; appUrl: string; endpointUrl: string };
    await Bun.sleep(25);
  }
  throw new Error("deployment did not finish");
}

const noAuth = { authorization: "" };

describe("dashboard session: HttpOnly cookie + CSRF token", () => {
  let s: TestServer;
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());

  const signIn = (token: string) => fetch(`${s.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
  const withCookie = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) => fetch(`${s.url}${path}`, { ...init, headers: { cookie, ...headers } });

  test("sign-in sets an HttpOnly, SameSite=Strict cookie on /v1 and /api/v1 only, and answers the CSRF token", async () => {
    const res = await signIn(s.token);
    expect(res.status).toBe(200);
    const set = res.headers.getSetCookie();
    expect(set).toHaveLength(2);
    const paths = set.map((c) => /Path=([^;]+)/.exec(c)![1]).sort();
    expect(paths).toEqual(["/api/v1", "/v1"]);
    for (const c of set) {
      expect(c).toStartWith("cantrip_session=");
      expect(c).toContain("HttpOnly");
      expect(c).toContain("SameSite=Strict");
      expect(c).toContain("Max-Age=43200");
      expect(c).not.toContain("Domain");
      expect(c).not.toContain(s.token);
    }
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as any;
    csrf = body.data.csrfToken;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    cookie = set[0]!.split(";")[0]!;
  });

  test("a wrong token sets nothing; a form post cannot sign in", async () => {
    const bad = await signIn("ctp_pt_nope");
    expect(bad.status).toBe(401);
    expect(bad.headers.getSetCookie()).toEqual([]);
    const form = await fetch(`${s.url}/v1/session`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ token: s.token }) });
    expect(form.status).toBe(415);
    expect(form.headers.getSetCookie()).toEqual([]);
  });

  test("the cookie alone is refused (csrf_failed); with its CSRF token it works on both API families", async () => {
    const alone = await withCookie("/v1/agents");
    expect(alone.status).toBe(403);
    expect(((await alone.json()) as any).error.code).toBe("csrf_failed");
    const wrong = await withCookie("/v1/agents", { "x-csrf-token": csrf.slice(0, -2) + "xx" });
    expect(wrong.status).toBe(403);
    expect((await withCookie("/v1/agents", { "x-csrf-token": csrf })).status).toBe(200);
    expect((await withCookie("/api/v1/builders", { "x-csrf-token": csrf })).status).toBe(200);
    const del = await withCookie("/v1/agents/agent_nope", {}, { method: "DELETE" });
    expect(del.status).toBe(403);
  });

  test("a cross-site or same-site (another port) request is refused even with the CSRF token", async () => {
    for (const site of ["same-site", "cross-site"]) {
      const r = await withCookie("/v1/agents", { "x-csrf-token": csrf, "sec-fetch-site": site });
      expect(r.status).toBe(403);
      const g = await withCookie("/v1/session", { "sec-fetch-site": site });
      expect(g.status).toBe(403);
    }
    expect((await withCookie("/v1/agents", { "x-csrf-token": csrf, "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  test("GET /v1/session gives the same CSRF token back to the cookie's holder", async () => {
    const r = await withCookie("/v1/session");
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).data.csrfToken).toBe(csrf);
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    expect((await fetch(`${s.url}/v1/session`)).status).toBe(401);
  });

  test("a tampered cookie is unauthorized; a bearer token wins over the cookie", async () => {
    const [name, value] = cookie.split("=") as [string, string];
    const [body, mac] = value.split(".") as [string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, w: "ws_other" })).toString("base64url");
    const r = await fetch(`${s.url}/v1/agents`, { headers: { cookie: `${name}=${forged}.${mac}`, "x-csrf-token": csrf } });
    expect(r.status).toBe(401);
    const bearerWins = await withCookie("/v1/agents", { "x-csrf-token": csrf, authorization: "Bearer ctp_pt_wrong" });
    expect(bearerWins.status).toBe(401);
    expect((await s.req("/v1/agents")).status).toBe(200); // the CLI's way is unchanged
  });

  test("sign-out clears both cookies", async () => {
    const r = await fetch(`${s.url}/v1/session`, { method: "DELETE" });
    expect(r.status).toBe(200);
    const set = r.headers.getSetCookie();
    expect(set.map((c) => /Path=([^;]+)/.exec(c)![1]).sort()).toEqual(["/api/v1", "/v1"]);
    for (const c of set) expect(c).toMatch(/^cantrip_session=; .*Max-Age=0/);
  });
});

describe("default setup: apps on the platform's port, sandboxed", () => {
  let s: TestServer;
  let app: Awaited<ReturnType<typeof deploy>>;
  beforeAll(async () => {
    s = await startServer();
    app = await deploy(s, "evil", hostileAppBackend, { public: true });
  }, 60_000);
  afterAll(() => s.stop());

  test("the app URL stays where existing clients expect it", async () => {
    expect(app.appUrl).toBe(`${s.url}/apps/evil/`);
    expect(s.app.appsUrl).toBeNull();
    const spec = await s.json("/apps/evil/_docs/openapi.json", { headers: noAuth });
    expect(spec.body.servers[0].url).toBe(`${s.url}/apps/evil`);
  });

  test("a backend's page carries the sandbox CSP and nosniff, and none of the headers it forged", async () => {
    const r = await fetch(`${s.url}/apps/evil/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toStartWith("sandbox allow-scripts");
    expect(r.headers.get("content-security-policy")).not.toContain("allow-same-origin");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.getSetCookie()).toEqual([]);
    for (const h of ["strict-transport-security", "alt-svc", "x-hop", "keep-alive"]) expect(r.headers.get(h)).toBeNull();
    const sw = await fetch(`${s.url}/apps/evil/sw.js`);
    expect(sw.headers.get("service-worker-allowed")).toBeNull();
    expect(sw.headers.get("content-security-policy")).toStartWith("sandbox");
    const wipe = await fetch(`${s.url}/apps/evil/wipe`);
    expect(wipe.headers.get("clear-site-data")).toBeNull();
    for (const v of ["pref=dark", "pref=dark; Path=/apps/evil"]) {
      const c = await fetch(`${s.url}/apps/evil/cookie?v=${encodeURIComponent(v)}`);
      expect(c.headers.getSetCookie()).toEqual([]);
    }
  });

  test("the backend never sees the caller's cookies or credentials", async () => {
    const r = await fetch(`${s.url}/apps/evil/echo-headers`, { headers: { cookie: "cantrip_session=s3cret; pref=1", authorization: "Bearer ctp_pt_x", "x-csrf-token": "t" } });
    const seen = (await r.json()) as Record<string, string>;
    expect(seen.cookie).toBeUndefined();
    expect(seen.authorization).toBeUndefined();
    expect(seen["x-csrf-token"]).toBeUndefined();
  });
});

describe("apps port and host routing", () => {
  let s: TestServer;
  let app: Awaited<ReturnType<typeof deploy>>;
  let appsPort: string;
  beforeAll(async () => {
    s = await startServer({ CANTRIP_APPS_PORT: "0", CANTRIP_APPS_DOMAIN: "apps.test" });
    appsPort = new URL(s.app.appsUrl!).port;
    app = await deploy(s, "evil", hostileAppBackend, { public: true });
  }, 60_000);
  afterAll(() => s.stop());

  test("endpoint and preview URLs follow the apps origin", async () => {
    expect(app.appUrl).toBe(`http://evil.apps.test:${appsPort}/`);
    expect(app.endpointUrl).toBe(`${s.url}/v1/invoke/evil`);
    const b = await s.json("/api/v1/builders", { method: "POST", json: { name: "Preview", files: { "index.ts": hostileAppBackend }, entrypoint: "index.ts" } });
    expect(b.status).toBe(201);
    expect(b.body.data.preview_url).toBe(`http://preview.apps.test:${appsPort}/`);
    const spec = await fetch(`${s.url}/apps/evil/_docs/openapi.json`).then((r) => r.json() as any);
    expect(spec.servers[0].url).toBe(`http://evil.apps.test:${appsPort}`);
  });

  test("the apps listener serves apps only, unsandboxed, with the same header policy", async () => {
    for (const p of ["/", "/docs", "/v1/agents", "/v1/session", "/openapi.json"]) expect((await fetch(`${s.app.appsUrl}${p}`)).status).toBe(404);
    const r = await fetch(`${s.app.appsUrl}/apps/evil/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toBeNull();
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.getSetCookie()).toEqual([]); // it tried the platform's cookie name
    const sw = await fetch(`${s.app.appsUrl}/apps/evil/sw.js`);
    expect(sw.headers.get("service-worker-allowed")).toBeNull();
    const cookie = (v: string) => fetch(`${s.app.appsUrl}/apps/evil/cookie?v=${encodeURIComponent(v)}`).then((c) => c.headers.getSetCookie());
    expect(await cookie("pref=dark")).toEqual(["pref=dark"]);
    expect(await cookie("pref=dark; Path=/apps/evil")).toEqual(["pref=dark; Path=/apps/evil"]);
    expect(await cookie("pref=dark; Path=/")).toEqual([]); // would reach every app and the platform's paths
    expect(await cookie("pref=dark; Domain=127.0.0.1")).toEqual([]);
    expect(await cookie("cantrip_session=evil; Path=/apps/evil")).toEqual([]);
    // /apps/evil (no slash) would be in the directory /apps/, shared by every app: redirected.
    const bare = await fetch(`${s.app.appsUrl}/apps/evil?sw=1`, { method: "POST", redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/apps/evil/?sw=1");
    const echo = await fetch(`${s.app.appsUrl}/apps/evil/echo-headers`, { headers: { cookie: "cantrip_session=s3cret; pref=1" } });
    expect(((await echo.json()) as any).cookie).toBe("pref=1");
  });

  test("{slug}.<apps domain> is the app on its own origin, on either listener", async () => {
    for (const base of [s.url, s.app.appsUrl!]) {
      const r = await fetch(`${base}/`, { headers: { host: `evil.apps.test:${appsPort}` } });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("hostile");
      expect(r.headers.get("content-security-policy")).toBeNull();
      const docs = await fetch(`${base}/_docs`, { headers: { host: "evil.apps.test" } });
      expect(await docs.text()).toContain('fetch("/_docs/openapi.json"');
      expect(docs.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      // The platform is not reachable under an app's host.
      const api = await fetch(`${base}/v1/agents`, { headers: { host: "evil.apps.test", authorization: `Bearer ${s.token}` } });
      expect(api.status).toBe(404);
      expect(api.headers.get("content-type")).toBe("application/json"); // the backend's own 404
    }
    const platform = await fetch(`${s.url}/`, { headers: { host: "apps.test" } });
    expect(await platform.text()).toContain("app.js"); // the bare domain is not an app
  });
});

describe("baseline headers on every platform response", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());

  test.each(["/", "/docs", "/openapi.json", "/healthz", "/v1/agents", "/v1/nope", "/apps/nope/_docs", "/apps/nope/x", "/assets/app.js", "/docs/assets/init.js"])("%s", async (path) => {
    const r = await fetch(`${s.url}${path}`);
    expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    expect(r.headers.get("cross-origin-resource-policy")).toBe("same-origin");
  });

  test("pages cut the opener link; no route answers a CORS preflight", async () => {
    for (const path of ["/", "/docs", "/apps/nope/_docs"]) expect((await fetch(`${s.url}${path}`)).headers.get("cross-origin-opener-policy")).toBe("same-origin");
    for (const path of ["/v1/agents", "/v1/session", "/api/v1/builders"]) {
      const r = await fetch(`${s.url}${path}`, { method: "OPTIONS", headers: { origin: "http://127.0.0.1:1", "access-control-request-method": "GET", "access-control-request-headers": "x-csrf-token" } });
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
      expect(r.headers.get("access-control-allow-headers")).toBeNull();
    }
  });
});

test("an apps domain that would swallow the platform's own host stops start-up", async () => {
  const dataDir = tempDir();
  try {
    await expect(startServer({ CANTRIP_APPS_DOMAIN: "example.com", CANTRIP_PUBLIC_URL: "https://cantrip.example.com" }, { dataDir })).rejects.toThrow(/CANTRIP_APPS_DOMAIN: the platform's own host cantrip.example.com/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
