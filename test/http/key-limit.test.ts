/**
 * An agent may have at most CANTRIP_AGENT_MAX_KEYS active API keys (noticed in issue 15's
 * sixth round: keys were unbounded, and each active key may be held in the key caches and
 * has its last-used time written). Past the cap every way of creating one — the HTTP API,
 * the MCP `create_agent_key` tool — answers 409 key_limit_reached and writes nothing; a
 * rotation is never refused; revoking one makes room; another agent is not affected; and
 * concurrent creations cannot pass the cap together. On the old code the third key answered
 * 201.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { startServer, type TestServer } from "../harness";
import { call, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;

beforeAll(async () => {
  s = await startServer({ CANTRIP_AGENT_MAX_KEYS: "2" });
  t = { url: s.url, token: s.token };
});
afterAll(() => s.stop());

async function agent(name: string): Promise<string> {
  const created = await call(t, "POST", "/v1/agents", { name, files: { "index.ts": trivialBackend(1) }, entrypoint: "index.ts" });
  expect(created.status).toBe(201);
  return created.body.data.agent.id;
}
const create = (id: string, name: string) => call(t, "POST", `/v1/agents/${id}/api-keys`, { name });
const keysOf = async (id: string) => (await call(t, "GET", `/v1/agents/${id}/api-keys`)).body.data as { id: string; name: string; status: string }[];

/** One MCP tools/call on the platform's /mcp endpoint; the tool's text answer. */
async function mcpTool(name: string, args: unknown): Promise<{ isError: boolean; text: string }> {
  const r = await fetch(`${s.url}/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } }),
  });
  expect(r.status).toBe(200);
  // The answer is JSON or, as here, one server-sent event whose data line is the JSON-RPC response.
  const text = await r.text();
  const json = text.trimStart().startsWith("{") ? text : text.split("\n").find((l) => l.startsWith("data: "))!.slice(6);
  const result = JSON.parse(json).result;
  return { isError: result.isError === true, text: result.content.map((c: { text: string }) => c.text).join("") };
}

test("past the cap a key is refused with 409 key_limit_reached over HTTP and MCP, nothing written; rotation still works; a revoke makes room; another agent is unaffected", async () => {
  const a = await agent("capped");
  expect((await create(a, "one")).status).toBe(201);
  const second = await create(a, "two");
  expect(second.status).toBe(201);

  const refused = await create(a, "three");
  expect([refused.status, refused.body.error?.code]).toEqual([409, "key_limit_reached"]);
  expect(refused.body.error.message).toContain("(2)");
  expect(refused.body.error.details).toEqual({ keys: 2, limit: 2 });
  const viaMcp = await mcpTool("create_agent_key", { agent: a, name: "four" });
  expect(viaMcp.isError).toBe(true);
  expect(viaMcp.text).toContain("key_limit_reached");
  expect((await keysOf(a)).map((k) => k.name).sort()).toEqual(["one", "two"]);

  // A rotation replaces a key: the count stays at the cap, and it is not refused.
  const rotated = await call(t, "POST", `/v1/agents/${a}/api-keys/${second.body.data.apiKey.id}/rotate`);
  expect(rotated.status).toBeLessThan(300);
  expect((await keysOf(a)).filter((k) => k.status !== "revoked")).toHaveLength(2);

  // Another agent has its own count.
  const b = await agent("elsewhere");
  expect((await create(b, "b1")).status).toBe(201);

  // Revoking one makes room; revoked keys do not count.
  const one = (await keysOf(a)).find((k) => k.name === "one")!;
  expect((await call(t, "POST", `/v1/agents/${a}/api-keys/${one.id}/revoke`)).status).toBe(200);
  expect((await create(a, "five")).status).toBe(201);
  expect((await create(a, "six")).status).toBe(409);
});

test("concurrent creations cannot pass the cap together", async () => {
  const a = await agent("racing");
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => create(a, `k${i}`)));
  expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 409, 409, 409, 409, 409, 409]);
  expect(await keysOf(a)).toHaveLength(2);
});

/** Every row of an agent's key list, following nextCursor. */
async function allKeysOf(id: string) {
  const rows: { id: string; name: string; status: string }[] = [];
  let cursor: string | null = null;
  do {
    const r = await call(t, "GET", `/v1/agents/${id}/api-keys?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    rows.push(...r.body.data);
    cursor = r.body.nextCursor;
  } while (cursor);
  return rows;
}

test("rotations and create/revoke cycles do not grow an agent's stored keys without bound (revoked rows are kept only to REVOKED_KEPT)", async () => {
  // The cap counts active keys only; every rotation and every revoke leaves a revoked row.
  // Without a bound on those, a tenant grows the api_keys table (and the rows each create's
  // count reads under the key lock) one row per call, forever.
  const a = await agent("churning");
  let current = (await create(a, "rotated")).body.data.apiKey.id as string;
  for (let i = 0; i < 110; i++) {
    const r = await call(t, "POST", `/v1/agents/${a}/api-keys/${current}/rotate`);
    expect(r.status).toBe(200);
    current = r.body.data.apiKey.id;
  }
  for (let i = 0; i < 20; i++) {
    const k = await create(a, `temp${i}`);
    expect(k.status).toBe(201);
    expect((await call(t, "POST", `/v1/agents/${a}/api-keys/${k.body.data.apiKey.id}/revoke`)).status).toBe(200);
  }
  const rows = await allKeysOf(a);
  expect(rows.filter((k) => k.status === "active").map((k) => k.id)).toEqual([current]);
  expect(rows.filter((k) => k.status === "revoked").length).toBe(100);
  // The newest revoked ones are the ones kept: the last temp key is still listed.
  expect(rows.some((k) => k.name === "temp19")).toBe(true);
});

test("concurrent rotations, revokes and creations at the cap: one successor per key, the cap holds, the revoked rows stay bounded, no 5xx", async () => {
  const a = await agent("stampede");
  for (let i = 0; i < 101; i++) {
    const k = await create(a, `old${i}`);
    await call(t, "POST", `/v1/agents/${a}/api-keys/${k.body.data.apiKey.id}/revoke`);
  }
  const k1 = (await create(a, "k1")).body.data.apiKey.id as string;
  const k2 = (await create(a, "k2")).body.data.apiKey.id as string;
  const rotate = (id: string) => call(t, "POST", `/v1/agents/${a}/api-keys/${id}/rotate`);
  const answers = await Promise.all([...Array.from({ length: 6 }, () => rotate(k1)), ...Array.from({ length: 6 }, () => rotate(k2)), ...Array.from({ length: 4 }, (_, i) => create(a, `more${i}`))]);
  const statuses = answers.map((r) => r.status);
  expect(statuses.filter((s) => s >= 500)).toEqual([]);
  expect(statuses.slice(0, 6).filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.slice(6, 12).filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.slice(12)).toEqual([409, 409, 409, 409]);
  const rows = await allKeysOf(a);
  expect(rows.filter((k) => k.status === "active")).toHaveLength(2);
  expect(rows.filter((k) => k.status === "revoked").length).toBe(100);
});
