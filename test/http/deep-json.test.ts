/**
 * Issue 12 §3: parsing must not stall the event loop. A 1 MB body of 500,000 nested arrays
 * sent with a valid token used to block the loop for seconds (every other tenant waited)
 * and then answered 422. Now every control route that accepts JSON refuses it with
 * 400 invalid_json in milliseconds, while a bystander's invokes stay fast; brackets inside
 * strings are not nesting, and a body at the depth limit still reaches validation.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { MAX_JSON_DEPTH } from "../../src/http/server";
import { startServer, type TestServer } from "../harness";
import { call, deploy, keepInvoking, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
let bystander: { id: string; slug: string; key: string };
const routes: { method: string; path: string }[] = [];

beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
  bystander = await deploy(t, "bystander", trivialBackend(1));
  const spec = (await s.json("/openapi.json")).body;
  for (const [path, methods] of Object.entries<any>(spec.paths))
    for (const m of Object.keys(methods))
      if (["post", "put", "patch"].includes(m) && /^\/(api\/)?v1\//.test(path) && !path.startsWith("/v1/invoke/"))
        routes.push({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, (p) => (p.includes("gent") || p === "{id}" ? bystander.id : "x")) });
});
afterAll(() => s.stop());

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);

test("a 1 MB body of 500,000 nested arrays: 400 invalid_json within 100 ms on every JSON route, bystander invokes stay fast", async () => {
  expect(routes.length).toBeGreaterThan(15);
  const body = deep(500_000);
  const bystanderCalls = keepInvoking(t, bystander);
  const bystanderMs = bystanderCalls.ms;
  const slow: string[] = [];
  try {
    for (const r of routes) {
      // Best of three, so a busy shared machine's scheduling noise is not mistaken for parsing
      // (the old code took seconds on every attempt).
      let best = Infinity;
      for (let i = 0; i < 3 && best > 100; i++) {
        const t0 = performance.now();
        const res = await call(t, r.method, r.path, body);
        best = Math.min(best, performance.now() - t0);
        expect({ route: `${r.method} ${r.path}`, status: res.status, code: res.body.error?.code }).toEqual({ route: `${r.method} ${r.path}`, status: 400, code: "invalid_json" });
      }
      if (best > 100) slow.push(`${r.method} ${r.path}: ${Math.round(best)} ms`);
    }
  } finally {
    await bystanderCalls.stop();
  }
  expect(slow).toEqual([]);
  expect(bystanderMs.length).toBeGreaterThan(0);
  expect(Math.max(...bystanderMs)).toBeLessThan(500);
});

test("brackets inside strings are not nesting; a body at the limit reaches validation", async () => {
  const inString = `export const s = "${"[{".repeat(5000)}";\n` + trivialBackend(1);
  const ok = await call(t, "POST", "/v1/agents", { name: "brackets in strings", files: { "index.ts": inString }, entrypoint: "index.ts" });
  expect(ok.status).toBe(201);
  // {"name": [[[...]]]}: depth MAX_JSON_DEPTH in total, valid JSON, wrong shape → invalid_request, not invalid_json.
  const atLimit = `{"name":${deep(MAX_JSON_DEPTH - 1)},"files":{},"entrypoint":"x"}`;
  const r = await call(t, "POST", "/v1/agents", atLimit);
  expect(r.status).toBe(400);
  expect(r.body.error.code).toBe("invalid_request");
  const over = `{"name":${deep(MAX_JSON_DEPTH)},"files":{},"entrypoint":"x"}`;
  const r2 = await call(t, "POST", "/v1/agents", over);
  expect(r2.body.error.code).toBe("invalid_json");
  expect(r2.body.error.message).toContain(`deeper than ${MAX_JSON_DEPTH}`);
});

test("the builder API family answers the deep body in its own envelope", async () => {
  const r = await call(t, "POST", "/api/v1/credentials", deep(100_000));
  expect(r.status).toBe(400);
  expect(r.body.success).toBe(false);
  expect(r.body.error.code).toBe("invalid_json");
});
