/**
 * The contract's loose ends (issue 16 §11–13), over real HTTP: the OpenAPI document lists
 * every documented path exactly as `shared/API.md` spells it (no trailing slash); a
 * conversation started without a name has one at once; every paginated route walks ≥ 3
 * pages with rows inserted between pages and neither skips nor repeats a row.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { echoBackend } from "../fixtures/backends";
import { startServer, type TestServer } from "../harness";

let fake: FakeOpenAI;
let s: TestServer;
beforeAll(async () => {
  fake = startFakeOpenAI();
  fake.respond(() => ({ hang: true })); // intake turns stay in flight; these tests only read conversations
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL_TIMEOUT_MS: "60000" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

/** Every path in shared/API.md's endpoint lists (copied; `...` prefixes expanded). */
const DOCUMENTED = [
  "POST /v1/generate",
  "GET /v1/generate/{jobId}",
  "GET /v1/generate/{jobId}/stream",
  "POST /v1/generate/{jobId}/stream-token",
  "POST /v1/generate/{jobId}/cancel",
  "GET /v1/agents",
  "POST /v1/agents",
  "GET /v1/agents/{id}",
  "GET /v1/agents/by-slug/{slug}",
  "DELETE /v1/agents/{id}",
  "GET /v1/agents/{id}/versions",
  "POST /v1/agents/{id}/rollback",
  "GET /v1/agents/{id}/api-keys",
  "POST /v1/agents/{id}/api-keys",
  "POST /v1/agents/{id}/api-keys/{keyId}/revoke",
  "POST /v1/agents/{id}/api-keys/{keyId}/rotate",
  "POST /v1/deploy/{agentId}",
  "GET /v1/deploy/{agentId}/status",
  "GET /v1/deploy/{agentId}/endpoint",
  "POST /v1/invoke/{slug}",
  "POST /v1/downloads/{agentId}/token",
  "GET /v1/downloads/{agentId}/latest",
  "GET /v1/downloads/{agentId}/{filename}",
  "POST /v1/validation/{agentId}/validate",
  "GET /v1/validation/jobs/{jobId}",
  "GET /v1/validation/agents/{agentId}/reports",
  "POST /api/v1/builder-agents",
  "GET /api/v1/builder-agents",
  "GET /api/v1/builder-agents/{uuid}",
  "POST /api/v1/builder-agents/{uuid}/answers",
  "POST /api/v1/builder-agents/{uuid}/approve",
  "POST /api/v1/builder-agents/{uuid}/rebuild",
  "POST /api/v1/builders",
  "GET /api/v1/builders",
  "GET /api/v1/builders/{uuid}",
  "DELETE /api/v1/builders/{uuid}",
  "POST /api/v1/builders/{uuid}/start",
  "POST /api/v1/builders/{uuid}/stop",
  "GET /api/v1/builders/{uuid}/logs",
  "GET /api/v1/builders/{uuid}/files",
];

const shape = (path: string) => path.replace(/\{[^}]+\}/g, "{}");

test("/openapi.json lists every documented path exactly, and no path with a trailing slash", async () => {
  const doc = (await s.json("/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
  const listed = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) for (const m of Object.keys(ops)) listed.add(`${m.toUpperCase()} ${shape(path)}`);
  const missing = DOCUMENTED.filter((e) => !listed.has(`${e.split(" ")[0]} ${shape(e.split(" ")[1]!)}`));
  expect(missing).toEqual([]);
  expect(Object.keys(doc.paths).filter((p) => p.length > 1 && p.endsWith("/"))).toEqual([]);
  // The documented spelling is also what the server answers (and the old one keeps working).
  expect((await s.json("/v1/agents")).status).toBe(200);
  expect((await s.json("/v1/agents/")).status).toBe(200);
});

test("a conversation started without a name is named from its prompt at once", async () => {
  const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "An API that tracks my reading list with ratings" } });
  expect(r.status).toBe(202);
  expect(r.body.data.name).toBe("Api Tracks Reading List");
  const again = await s.json(`/api/v1/builder-agents/${r.body.data.uuid}`);
  expect(again.body.data.name).toBe("Api Tracks Reading List");
});

/** Walks a list with limit 2, inserting a row before each next page; returns every id seen. */
async function walk(path: string, idOf: (row: any) => string, insert: () => Promise<unknown>, cursorKey = "nextCursor") {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const r: { status: number; body: any } = await s.json(`${path}${sep}limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(r.status).toBe(200);
    seen.push(...(r.body.data as any[]).map(idOf));
    cursor = r.body[cursorKey];
    pages++;
    await insert();
  } while (cursor);
  return { seen, pages };
}

async function listAll(path: string, idOf: (row: any) => string, cursorKey = "nextCursor") {
  return (await walk(path, idOf, async () => {}, cursorKey)).seen;
}

describe("every paginated route pages by its order key across inserts", () => {
  let agentId: string;
  let n = 0;
  const upload = () => s.json("/v1/agents", { method: "POST", json: { name: `Paged ${n++}`, files: { "index.ts": echoBackend }, entrypoint: "index.ts" } });

  beforeAll(async () => {
    for (let i = 0; i < 6; i++) expect((await upload()).status).toBe(201);
    agentId = (await upload()).body.data.agent.id;
  });

  test("GET /v1/agents and GET /api/v1/builders", async () => {
    const before = await listAll("/v1/agents", (a) => a.id);
    const { seen, pages } = await walk("/v1/agents", (a) => a.id, upload);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before);
    const b = await walk("/api/v1/builders", (x) => x.uuid, upload, "next_cursor");
    expect(b.pages).toBeGreaterThanOrEqual(3);
    expect(new Set(b.seen).size).toBe(b.seen.length);
  });

  test("GET /api/v1/builder-agents (conversations: uuids ordered by creation time)", async () => {
    const start = () => s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: `Build me an API number ${n++} that stores notes` } });
    for (let i = 0; i < 6; i++) expect((await start()).status).toBe(202);
    const before = await listAll("/api/v1/builder-agents", (c) => c.uuid, "next_cursor");
    const { seen, pages } = await walk("/api/v1/builder-agents", (c) => c.uuid, start, "next_cursor");
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before);
    const bad = await s.json("/api/v1/builder-agents?cursor=not-a-cursor!");
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code ?? bad.body.code).toBeDefined();
  });

  test("GET /v1/agents/{id}/api-keys and /versions", async () => {
    const key = () => s.json(`/v1/agents/${agentId}/api-keys`, { method: "POST", json: { name: `k${n++}` } });
    for (let i = 0; i < 6; i++) expect((await key()).status).toBe(201);
    const before = await listAll(`/v1/agents/${agentId}/api-keys`, (k) => k.id);
    const keys = await walk(`/v1/agents/${agentId}/api-keys`, (k) => k.id, key);
    expect(keys.pages).toBeGreaterThanOrEqual(3);
    expect(keys.seen).toEqual(before);

    const version = () => s.json(`/v1/agents/${agentId}/source`, { method: "PUT", json: { files: { "index.ts": echoBackend.replace("version: 1", `version: ${n++}`) }, entrypoint: "index.ts" } });
    for (let i = 0; i < 6; i++) expect((await version()).status).toBeLessThan(300);
    const vBefore = await listAll(`/v1/agents/${agentId}/versions`, (v) => String(v.version ?? v.number));
    const versions = await walk(`/v1/agents/${agentId}/versions`, (v) => String(v.version ?? v.number), version);
    expect(versions.pages).toBeGreaterThanOrEqual(3);
    expect(versions.seen).toEqual(vBefore);
    expect(vBefore.map(Number)).toEqual([...vBefore.map(Number)].sort((a, b) => b - a));
  });
});
