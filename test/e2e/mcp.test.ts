/**
 * The two MCP servers, driven by the official SDK client over real HTTP: the platform's
 * (/mcp, platform token) lists and runs its tools, including a generation against the fake
 * model with progress notifications; each backend's (/apps/{slug}/_mcp, its agent key)
 * offers one tool per route with the route's schemas, returns the backend's validation
 * errors as tool errors, and refuses another agent's key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { echoBackend } from "../fixtures/backends";
import { leadSpec } from "../fixtures/lead-spec";
import { leadCode } from "../fixtures/lead-code";
import { startServer, type TestServer } from "../harness";

const notes = `
import { defineBackend, t, HttpError } from "cantrip";
export default defineBackend({
  routes: {
    "POST /notes": {
      summary: "Create a note",
      input: t.Object({ title: t.String({ minLength: 1 }), tags: t.Optional(t.Array(t.String())) }),
      output: t.Object({ id: t.String(), title: t.String(), tags: t.Array(t.String()) }),
      handle: async (input, ctx) => {
        const id = "n" + ((await ctx.kv.get("seq")) ?? 0);
        await ctx.kv.set("seq", Number(id.slice(1)) + 1);
        const note = { id, title: input.title, tags: input.tags ?? [] };
        await ctx.kv.set("note:" + id, note);
        return note;
      },
    },
    "GET /notes/:id": {
      summary: "Read a note",
      input: t.Object({ id: t.String() }),
      output: t.Object({ id: t.String(), title: t.String(), tags: t.Array(t.String()) }),
      handle: async (input, ctx) => {
        const note = await ctx.kv.get("note:" + input.id);
        if (!note) throw new HttpError(404, "no such note");
        return note;
      },
    },
    "POST /echo": (input) => ({ echoed: input }),
  },
});
`;

let s: TestServer;
let fake: FakeOpenAI;
const open: Client[] = [];

async function connect(path: string, authorization: string | null): Promise<Client> {
  const client = new Client({ name: "cantrip-test", version: "1.0.0" });
  const headers: Record<string, string> = authorization ? { authorization } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(s.url + path), { requestInit: { headers } }));
  open.push(client);
  return client;
}

async function deploy(name: string, code: string, extra: Record<string, unknown> = {}) {
  const up = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", autoDeploy: true, ...extra } });
  expect(up.status).toBe(201);
  const agent = up.body.data.agent;
  for (let i = 0; i < 200 && (await s.json(`/v1/agents/${agent.id}`)).body.data.status !== "deployed"; i++) await Bun.sleep(25);
  const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "mcp" } })).body.data.key as string;
  return { id: agent.id as string, slug: agent.slug as string, key };
}

const parsed = (r: any) => JSON.parse(r.content[0].text);

beforeAll(async () => {
  fake = startFakeOpenAI();
  fake.respond((call) => {
    const step = /\[cantrip:(\w+)\]/.exec(call.system)?.[1];
    if (step === "plan") return { json: leadSpec, delayMs: 100 };
    return { content: "```ts\n" + leadCode + "\n```", delayMs: 100 };
  });
  s = await startServer({ OPENAI_BASE_URL: fake.url });
});
afterAll(async () => {
  for (const c of open) await c.close().catch(() => {});
  await s.stop();
  await fake.stop();
});

describe("platform MCP server (/mcp)", () => {
  test("refuses a request without a platform token", async () => {
    await expect(connect("/mcp", null)).rejects.toThrow();
    await expect(connect("/mcp", "Bearer ctp_pt_00000000000000000000000000000000")).rejects.toThrow();
  });

  test("lists its tools with the HTTP API's schemas; lists, describes, keys and invokes agents", async () => {
    const echo = await deploy("Mcp Echo", echoBackend);
    const c = await connect("/mcp", `Bearer ${s.token}`);
    const { tools } = await c.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ["generate_backend", "get_job", "list_agents", "describe_agent", "deploy_version", "create_agent_key", "invoke_backend", "recent_invocations", "agent_logs", "start_conversation", "answer_conversation", "approve_conversation", "get_conversation"])
      expect(names).toContain(n);
    const gen = tools.find((t) => t.name === "generate_backend")!;
    expect((gen.inputSchema.properties as any).prompt).toMatchObject({ type: "string", minLength: 10 });

    const list = parsed(await c.callTool({ name: "list_agents", arguments: {} }));
    expect(list.agents.map((a: any) => a.slug)).toContain(echo.slug);
    const described = parsed(await c.callTool({ name: "describe_agent", arguments: { agent: echo.slug } }));
    expect(described.routes.map((r: any) => `${r.method} ${r.path}`)).toEqual(["POST /", "GET /ping"]);
    expect(described.mcpUrl).toBe(`${s.url}/apps/${echo.slug}/_mcp`);
    const key = parsed(await c.callTool({ name: "create_agent_key", arguments: { agent: echo.id, name: "from-mcp" } }));
    expect(key.key).toMatch(/^ctp_ak_/);
    const inv = parsed(await c.callTool({ name: "invoke_backend", arguments: { agent: echo.slug, body: { name: "Ada" } } }));
    expect(inv).toMatchObject({ status: 200, ok: true, response: { hello: "Ada" } });
    const recent = parsed(await c.callTool({ name: "recent_invocations", arguments: { agent: echo.slug } }));
    expect(recent.data[0]).toMatchObject({ source: "mcp", status: 200 });

    const bad = await c.callTool({ name: "describe_agent", arguments: {} });
    expect(bad.isError).toBe(true);
    expect(parsed(bad).error.code).toBe("invalid_request");
    const missing = await c.callTool({ name: "describe_agent", arguments: { agent: "no-such-agent" } });
    expect(parsed(missing).error.code).toBe("agent_not_found");
  });

  test("generate_backend runs a generation against the model, sending progress notifications", async () => {
    const c = await connect("/mcp", `Bearer ${s.token}`);
    const progress: number[] = [];
    const r = await c.callTool(
      { name: "generate_backend", arguments: { name: "Mcp Lead Api", prompt: "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.", autoDeploy: true } },
      undefined,
      { onprogress: (p) => progress.push(p.progress), timeout: 60_000 },
    );
    const out = parsed(r);
    expect(out.job.status).toBe("completed");
    expect(out.agent.status).toBe("deployed");
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(100);
  });
});

describe("what a backend's callers are told it does", () => {
  test("MCP instructions and the OpenAPI description are the plan's summary, never the workspace's prompt", async () => {
    // The backend generate_backend deployed above: its prompt is workspace content.
    const agent = (await s.json("/v1/agents?limit=100")).body.data.find((a: any) => a.slug === "mcp-lead-api");
    expect(agent).toBeDefined();
    const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "caller" } })).body.data.key as string;
    const c = await connect(`/apps/${agent.slug}/_mcp`, `Bearer ${key}`);
    expect(c.getInstructions()).toBe(leadSpec.summary);
    const doc = (await (await fetch(`${s.url}/apps/${agent.slug}/_docs/openapi.json`, { headers: { authorization: `Bearer ${key}` } })).json()) as any;
    expect(doc.info.description).toBe(leadSpec.summary);
    for (const told of [c.getInstructions(), doc.info.description]) expect(told).not.toContain("lead profile, scores fit, lists missing fields");
    await c.close();
    // Uploaded code has no plan: nothing is said rather than something internal.
    const up = await deploy("Mcp Told", echoBackend);
    const c2 = await connect(`/apps/${up.slug}/_mcp`, `Bearer ${up.key}`);
    expect(c2.getInstructions()).toBeUndefined();
    await c2.close();
  });
});

describe("per-backend MCP server (/apps/{slug}/_mcp)", () => {
  test("one tool per route with the route's schemas; calls go through the gateway; validation errors are tool errors", async () => {
    const app = await deploy("Mcp Notes", notes);
    const c = await connect(`/apps/${app.slug}/_mcp`, `Bearer ${app.key}`);
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["get_notes_by_id", "post_echo", "post_notes"]);
    const create = tools.find((t) => t.name === "post_notes")!;
    expect(create.inputSchema).toMatchObject({ type: "object", required: ["title"], properties: { title: { type: "string", minLength: 1 } } });
    expect(create.outputSchema).toMatchObject({ type: "object", properties: { id: { type: "string" } } });
    expect(tools.find((t) => t.name === "post_echo")!.inputSchema.properties).toHaveProperty("body");

    const made = await c.callTool({ name: "post_notes", arguments: { title: "hello", tags: ["a"] } });
    expect(made.isError).toBeFalsy();
    expect(made.structuredContent).toEqual({ id: "n0", title: "hello", tags: ["a"] });
    const read = await c.callTool({ name: "get_notes_by_id", arguments: { id: "n0" } });
    expect(read.structuredContent).toEqual({ id: "n0", title: "hello", tags: ["a"] });
    const echoed = await c.callTool({ name: "post_echo", arguments: { body: { x: 1 } } });
    expect(JSON.parse((echoed.content as any)[0].text)).toEqual({ echoed: { x: 1 } });

    const invalid = await c.callTool({ name: "post_notes", arguments: { title: "" } });
    expect(invalid.isError).toBe(true);
    expect(parsed(invalid)).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    const notFound = await c.callTool({ name: "get_notes_by_id", arguments: { id: "nope" } });
    expect(parsed(notFound)).toMatchObject({ status: 404 });

    const log = await s.json(`/v1/agents/${app.id}/invocations`);
    expect(log.body.data.filter((r: any) => r.source === "mcp").length).toBeGreaterThanOrEqual(5);
  });

  test("agent A's key cannot list or call agent B's tools; a public app needs no key", async () => {
    const a = await deploy("Mcp A", echoBackend);
    const b = await deploy("Mcp B", notes);
    await expect(connect(`/apps/${b.slug}/_mcp`, `Bearer ${a.key}`)).rejects.toThrow();
    await expect(connect(`/apps/${b.slug}/_mcp`, null)).rejects.toThrow();
    const pub = await deploy("Mcp Public", echoBackend, { public: true });
    const c = await connect(`/apps/${pub.slug}/_mcp`, null);
    expect((await c.listTools()).tools.map((t) => t.name)).toEqual(["post_root", "get_ping"]);
    const r = await c.callTool({ name: "get_ping", arguments: {} });
    expect(JSON.parse((r.content as any)[0].text)).toEqual({ pong: true });
  });
});

describe("cantrip mcp", () => {
  const cli = async (...args: string[]) => {
    const p = Bun.spawn([process.execPath, "src/main.ts", ...args, "--url", s.url, "--token", s.token], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    return JSON.parse(out);
  };

  test("prints a configuration an MCP client connects with, for the platform and for one agent", async () => {
    const platform = await cli("mcp");
    const server = platform.mcpServers.cantrip;
    expect(server).toEqual({ type: "http", url: `${s.url}/mcp`, headers: { Authorization: `Bearer ${s.token}` } });
    const c1 = await connect(new URL(server.url).pathname, server.headers.Authorization);
    expect((await c1.listTools()).tools.length).toBeGreaterThan(10);

    const app = await deploy("Mcp Cli Notes", notes);
    const agentCfg = (await cli("mcp", app.slug, "--create-key")).mcpServers[app.slug];
    expect(agentCfg.url).toBe(`${s.url}/apps/${app.slug}/_mcp`);
    expect(agentCfg.headers.Authorization).toMatch(/^Bearer ctp_ak_/);
    const c2 = await connect(new URL(agentCfg.url).pathname, agentCfg.headers.Authorization);
    expect((await c2.listTools()).tools.map((t) => t.name)).toContain("post_notes");
  }, 30_000);
});

test("plain HTTP clients: no Accept header is fine; a non-MCP body is a catalogue error", async () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/mcp`, { method: "POST", headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json", ...headers }, body });
  const init = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } } }));
  expect(init.status).toBe(200);
  const bad = await post("{not json");
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as any).error.code).toBe("invalid_json");
  const notRpc = await post(JSON.stringify({ hello: "world" }));
  expect(notRpc.status).toBe(400);
  expect(((await notRpc.json()) as any).error.code).toMatch(/^invalid_(json|request)$/);
});
