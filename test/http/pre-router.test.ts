/**
 * The pre-router (src/http/pre-router.ts, issue 15) answers invoke and /apps requests
 * without Elysia. These tests send the same requests to the real server (pre-routed) and to
 * the same listener's Elysia app behind the same outer wrapper, and require the same
 * status, headers and body from both: successes, every kind of refusal, guest failures,
 * the /apps header policy on each origin (platform, apps port, own host), _docs, _mcp, and
 * the shapes the pre-router leaves to Elysia. /openapi.json still describes invoke, and the
 * HTTP metrics still count pre-routed requests.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";
import { echoBackend } from "../fixtures/backends";
import { hostileAppBackend } from "../fixtures/hostile-app";
import { createHandler, hostRouter, preRouter, silentLogger } from "../../src/http";
import type { PeerInfo } from "../../src/http/server";

const DOMAIN = "apps.test";

const failing = `
import { defineBackend, HttpError } from "cantrip";
export default defineBackend({
  routes: {
    "POST /": () => { throw new Error("secret guest detail"); },
    "GET /teapot": () => { throw new HttpError(418, "short and stout"); },
    "GET /bad": () => new Response("x", { headers: { "x-bad": "a\\u0001b" } }),
  },
});
`;

async function deploy(s: TestServer, name: string, code: string, extra: Record<string, unknown> = {}) {
  const up = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", ...extra } });
  expect(up.status).toBe(201);
  const id = up.body.data.agent.id as string;
  const slug = up.body.data.agent.slug as string;
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST", json: {} })).status).toBe(202);
  for (let i = 0; i < 400; i++) {
    const a = await s.json(`/v1/agents/${id}`);
    if (a.body.data.status === "deployed") {
      const key = (await s.json(`/v1/agents/${id}/api-keys`, { method: "POST", json: { name: "k" } })).body.data.key as string;
      return { id, slug, key };
    }
    await Bun.sleep(25);
  }
  throw new Error("deployment did not finish");
}

interface Probe {
  name: string;
  listener: "platform" | "apps";
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What may differ between two answers to the same request: latency, nonces, dates, framing on the wire. */
function normalise(text: string): string {
  return text.replace(/"latencyMs":\d+/g, '"latencyMs":0').replace(/nonce-[A-Za-z0-9+/=]+/g, "nonce-X").replace(/nonce="[A-Za-z0-9+/=]+"/g, 'nonce="X"');
}

async function snapshot(res: Response) {
  const body = normalise(await res.text());
  const headers = [...res.headers].filter(([k]) => k !== "date" && k !== "content-length" && k !== "transfer-encoding").map(([k, v]) => [k, normalise(v)]);
  return { status: res.status, headers, body };
}

describe("pre-router: same answers as Elysia", () => {
  let s: TestServer;
  let echo: { id: string; slug: string; key: string };
  let fail: { id: string; slug: string; key: string };
  let open: { id: string; slug: string; key: string };
  let elysiaOf: Record<"platform" | "apps", (req: Request, peer: PeerInfo) => Promise<Response>>;
  const loopbackPeer: PeerInfo = { requestIP: () => ({ address: "127.0.0.1" }) };
  let urlOf: Record<"platform" | "apps", string>;

  beforeAll(async () => {
    s = await startServer({ CANTRIP_APPS_PORT: "0", CANTRIP_APPS_DOMAIN: DOMAIN });
    echo = await deploy(s, "pre echo", echoBackend);
    fail = await deploy(s, "pre fail", failing);
    open = await deploy(s, "pre open", hostileAppBackend, { public: true });
    const { elysia } = s.app.internals;
    const opts = { bodyLimitBytes: s.app.config.bodyLimitBytes, logger: silentLogger, logRequests: false };
    // The listeners as they were before the pre-router: the same outer wrapper and host router around Elysia alone.
    elysiaOf = {
      platform: createHandler(hostRouter(DOMAIN, elysia.apps, elysia.platform), opts),
      apps: createHandler(hostRouter(DOMAIN, elysia.apps, elysia.apps), opts),
    };
    urlOf = { platform: s.url, apps: s.app.appsUrl! };
  }, 60_000);
  afterAll(() => s.stop());

  const probes = (): Probe[] => {
    const K = (k: string) => ({ authorization: `Bearer ${k}` });
    const json = { "content-type": "application/json" };
    const mcpHeaders = { ...K(echo.key), ...json, accept: "application/json, text/event-stream" };
    const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
    const list = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} });
    return [
      { name: "invoke ok", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: { ...K(echo.key), ...json }, body: '{"name":"x"}' },
      { name: "invoke empty body", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: K(echo.key) },
      { name: "invoke query string", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}?a=1`, headers: K(echo.key), body: "{}" },
      { name: "invoke invalid json", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: K(echo.key), body: '{"name":' },
      { name: "invoke no key", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, body: "{}" },
      { name: "invoke malformed key", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: { authorization: "Bearer nope" }, body: "{}" },
      { name: "invoke unknown key", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: K(`${echo.key.slice(0, -4)}AAAA`), body: "{}" },
      { name: "invoke another agent's key", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: K(fail.key), body: "{}" },
      { name: "invoke unknown slug", listener: "platform", method: "POST", path: "/v1/invoke/no-such-agent", headers: K(echo.key), body: "{}" },
      { name: "invoke guest throws", listener: "platform", method: "POST", path: `/v1/invoke/${fail.slug}`, headers: K(fail.key), body: "{}" },
      { name: "invoke trailing slash (Elysia)", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug}/`, headers: K(echo.key), body: "{}" },
      { name: "invoke encoded slug (Elysia)", listener: "platform", method: "POST", path: `/v1/invoke/${echo.slug.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}`, headers: K(echo.key), body: "{}" },
      { name: "invoke GET (Elysia 404)", listener: "platform", method: "GET", path: `/v1/invoke/${echo.slug}`, headers: K(echo.key) },
      { name: "invoke on the apps port (404)", listener: "apps", method: "POST", path: `/v1/invoke/${echo.slug}`, headers: K(echo.key), body: "{}" },
      { name: "app POST /", listener: "platform", method: "POST", path: `/apps/${echo.slug}/`, headers: { ...K(echo.key), ...json }, body: '{"name":"y"}' },
      { name: "app without slash", listener: "platform", method: "GET", path: `/apps/${echo.slug}`, headers: K(echo.key) },
      { name: "app GET /ping?x", listener: "platform", method: "GET", path: `/apps/${echo.slug}/ping?x=1`, headers: K(echo.key) },
      { name: "app unknown route", listener: "platform", method: "GET", path: `/apps/${echo.slug}/nope%20x`, headers: K(echo.key) },
      { name: "app HEAD", listener: "platform", method: "HEAD", path: `/apps/${echo.slug}/`, headers: K(echo.key) },
      { name: "app no key", listener: "platform", method: "GET", path: `/apps/${echo.slug}/ping` },
      { name: "app unknown slug", listener: "platform", method: "GET", path: "/apps/no-such-agent/", headers: K(echo.key) },
      { name: "app guest throws", listener: "platform", method: "POST", path: `/apps/${fail.slug}/`, headers: K(fail.key), body: "{}" },
      { name: "app HttpError", listener: "platform", method: "GET", path: `/apps/${fail.slug}/teapot`, headers: K(fail.key) },
      { name: "app bad header (bad_response)", listener: "platform", method: "GET", path: `/apps/${fail.slug}/bad`, headers: K(fail.key) },
      { name: "public app page, platform origin", listener: "platform", method: "GET", path: `/apps/${open.slug}/` },
      { name: "public app cookie, platform origin", listener: "platform", method: "GET", path: `/apps/${open.slug}/cookie?v=a%3D1` },
      { name: "public app page, apps port", listener: "apps", method: "GET", path: `/apps/${open.slug}/` },
      { name: "public app cookie, apps port", listener: "apps", method: "GET", path: `/apps/${open.slug}/cookie?v=a%3D1%3B%20Path%3D%2Fapps%2F${open.slug}` },
      { name: "apps port redirect into the app's directory", listener: "apps", method: "GET", path: `/apps/${open.slug}?q=1` },
      { name: "apps port control route (404)", listener: "apps", method: "GET", path: "/v1/agents", headers: K(echo.key) },
      { name: "own origin by host, apps port", listener: "apps", method: "GET", path: "/cookie?v=a%3D1", headers: { host: `${open.slug}.${DOMAIN}` } },
      { name: "own origin by host, platform port", listener: "platform", method: "GET", path: "/echo-headers", headers: { host: `${open.slug}.${DOMAIN}`, cookie: "cantrip_session=s; other=1", authorization: "Bearer x" } },
      { name: "app _docs page", listener: "platform", method: "GET", path: `/apps/${echo.slug}/_docs`, headers: K(echo.key) },
      { name: "app _docs openapi", listener: "platform", method: "GET", path: `/apps/${echo.slug}/_docs/openapi.json`, headers: K(echo.key) },
      { name: "app _mcp initialize", listener: "platform", method: "POST", path: `/apps/${echo.slug}/_mcp`, headers: mcpHeaders, body: init },
      { name: "app _mcp tools/list, apps port", listener: "apps", method: "POST", path: `/apps/${echo.slug}/_mcp`, headers: mcpHeaders, body: list },
      { name: "app _mcp without key", listener: "platform", method: "POST", path: `/apps/${echo.slug}/_mcp`, headers: { ...json, accept: "application/json, text/event-stream" }, body: list },
      { name: "apps root (Elysia 404)", listener: "platform", method: "GET", path: "/apps/", headers: K(echo.key) },
      { name: "encoded app slug (Elysia)", listener: "platform", method: "GET", path: `/apps/${echo.slug.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}/ping`, headers: K(echo.key) },
    ];
  };

  test("every probe gets the same status, headers and body on both paths", async () => {
    const seen: string[] = [];
    for (const p of probes()) {
      // fetch adds accept, accept-encoding and user-agent when absent; give both paths the same ones.
      const headers = { "x-request-id": `probe-${seen.length}`, accept: "*/*", "accept-encoding": "identity", "user-agent": "probe", ...p.headers };
      const url = urlOf[p.listener] + p.path;
      const viaServer = await fetch(url, { method: p.method, headers, body: p.body, redirect: "manual" });
      const viaElysia = await elysiaOf[p.listener](new Request(url, { method: p.method, headers, body: p.body }), loopbackPeer);
      const [a, b] = [await snapshot(viaServer), await snapshot(viaElysia)];
      expect({ name: p.name, ...a }).toEqual({ name: p.name, ...b });
      seen.push(`${p.name}: ${a.status}`);
    }
    // The probes cover successes and refusals alike (a sanity check on the fixture, not on the pre-router).
    expect(seen.join("\n")).toContain("invoke ok: 200");
    expect(seen.join("\n")).toContain("invoke no key: 401");
    expect(seen.join("\n")).toContain("app guest throws: 500");
    expect(seen.join("\n")).toContain("apps port redirect into the app's directory: 308");
  }, 120_000);

  test("invoke and app requests never reach Elysia; everything else does", async () => {
    const reached: string[] = [];
    const fallback = (req: Request) => (reached.push(new URL(req.url).pathname), s.app.internals.elysia.platform(req));
    const handle = createHandler(preRouter(s.app.internals.http, { invoke: true, apps: "platform" }, fallback), { bodyLimitBytes: s.app.config.bodyLimitBytes, logger: silentLogger, logRequests: false });
    const K = { authorization: `Bearer ${echo.key}` };
    const call = async (method: string, path: string, body?: string) => (await handle(new Request(s.url + path, { method, headers: K, body }), loopbackPeer)).status;
    expect(await call("POST", `/v1/invoke/${echo.slug}`, "{}")).toBe(200);
    expect(await call("POST", `/v1/invoke/${echo.slug}`, "{nope")).toBe(400);
    expect(await call("POST", `/apps/${echo.slug}/`, "{}")).toBe(200);
    expect(await call("GET", `/apps/${echo.slug}/ping`)).toBe(200);
    expect(await call("GET", "/apps/no-such-agent/x")).toBe(403); // key checks come first: not this key's agent
    expect(reached).toEqual([]);
    expect(await call("GET", "/v1/agents")).toBe(401); // an agent key is not a platform token
    expect(await call("POST", `/v1/invoke/${echo.slug}/`, "{}")).toBe(200);
    expect(reached).toEqual(["/v1/agents", `/v1/invoke/${echo.slug}/`]);
  });

  test("the peer address is read only when a route needs it (an anonymous app call), from the request Bun handed in", async () => {
    const asked: Request[] = [];
    const peer: PeerInfo = { requestIP: (req) => (asked.push(req), { address: "127.0.0.1" }) };
    const handle = createHandler(preRouter(s.app.internals.http, { invoke: true, apps: "platform" }, s.app.internals.elysia.platform), { bodyLimitBytes: s.app.config.bodyLimitBytes, logger: silentLogger, logRequests: false });
    const invoke = new Request(`${s.url}/v1/invoke/${echo.slug}`, { method: "POST", headers: { authorization: `Bearer ${echo.key}` }, body: "{}" });
    expect((await handle(invoke, peer)).status).toBe(200);
    expect(asked).toEqual([]); // (it cost ~0.65 µs on every invoke call)
    const keyed = new Request(`${s.url}/apps/${echo.slug}/ping`, { headers: { authorization: `Bearer ${echo.key}` } });
    expect((await handle(keyed, peer)).status).toBe(200);
    expect(asked).toEqual([]); // a keyed app call is limited per key: no address needed
    const app = new Request(`${s.url}/apps/${open.slug}/`); // anonymous: limited per client address
    expect((await handle(app, peer)).status).toBe(200);
    expect(asked.length).toBe(1);
    expect(asked[0]).toBe(app);
  });

  test("/openapi.json still describes POST /v1/invoke/{slug}", async () => {
    const doc = await s.json("/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.paths["/v1/invoke/{slug}"]?.post?.tags).toEqual(["invoke"]);
  });

  test("pre-routed requests are counted by the HTTP metrics", async () => {
    const count = async (family: string) => {
      const text = await (await s.req("/metrics")).text();
      return [...text.matchAll(new RegExp(`^cantrip_http_requests_total\\{[^}]*family="${family}"[^}]*\\} (\\d+)`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
    };
    const [inv0, apps0] = [await count("invoke"), await count("apps")];
    await s.req(`/v1/invoke/${echo.slug}`, { method: "POST", headers: { authorization: `Bearer ${echo.key}` }, body: "{}" });
    await s.req(`/apps/${echo.slug}/ping`, { headers: { authorization: `Bearer ${echo.key}` } });
    expect(await count("invoke")).toBe(inv0 + 1);
    expect(await count("apps")).toBe(apps0 + 1);
  });
});
