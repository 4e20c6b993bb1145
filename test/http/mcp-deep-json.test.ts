/**
 * Deep JSON on the MCP endpoints (threat model, promise 1). The control routes' nesting
 * scan (server.ts) covers /v1 and /api/v1 only; /mcp and /apps/{slug}/_mcp took deep
 * tool arguments to the SDK and the tools, which clone, check and re-serialise them
 * recursively. An anonymous caller of a public app's MCP server stalled the event loop for
 * about 0.9 s per request (a bystander's invoke waited as long) and got a bare
 * internal_error; a member's /mcp call also ended as internal_error. Now both answer
 * 400 invalid_json, a bystander stays fast, and ordinary tool calls still work.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { startServer, type TestServer } from "../harness";
import { deploy, keepInvoking, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
let pub: { id: string; slug: string; key: string };
let bystander: { id: string; slug: string; key: string };

beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
  pub = await deploy(t, "public echo", `import { defineBackend } from "cantrip"; export default defineBackend({ routes: { "POST /echo": (input) => ({ got: input }) } });`, { public: true });
  bystander = await deploy(t, "bystander", trivialBackend(1));
});
afterAll(() => s.stop());

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const rpc = (name: string, args: string) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"${name}","arguments":${args}}}`;

async function mcpPost(path: string, body: string, token: string | null) {
  const res = await fetch(s.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

test("400,000 nested arrays as tool arguments: 400 invalid_json on both MCP servers, a bystander's invokes stay fast", async () => {
  const cases = [
    { path: `/apps/${pub.slug}/_mcp`, token: null, body: rpc("post_echo", `{"body":${deep(400_000)}}`) },
    { path: "/mcp", token: s.token, body: rpc("get_job", `{"jobId":${deep(400_000)}}`) },
    { path: "/mcp", token: s.token, body: rpc("invoke_backend", `{"agent":"${bystander.slug}","body":${deep(400_000)}}`) },
  ];
  const bystanderCalls = keepInvoking(t, bystander);
  const bystanderMs = bystanderCalls.ms;
  try {
    for (const c of cases) {
      const r = await mcpPost(c.path, c.body, c.token);
      expect({ path: c.path, status: r.status, code: r.json?.error?.code }).toEqual({ path: c.path, status: 400, code: "invalid_json" });
    }
  } finally {
    await bystanderCalls.stop();
  }
  expect(bystanderMs.length).toBeGreaterThan(0);
  expect(Math.max(...bystanderMs)).toBeLessThan(500);
});

test("ordinary MCP calls still reach the tools", async () => {
  const r = await mcpPost(`/apps/${pub.slug}/_mcp`, rpc("post_echo", `{"body":{"a":[[1]]}}`), null);
  expect(r.status).toBe(200);
  expect(r.text).toContain('\\"got\\"');
  const list = await mcpPost("/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, s.token);
  expect(list.status).toBe(200);
  expect(list.text).toContain("invoke_backend");
});
