/**
 * Workspace isolation of every id-taking route on /v1 and /api/v1 (threat model, promise 6):
 * workspace B's platform token, given workspace A's ids (agent, slug, version, key,
 * credential, generation and validation jobs, conversation), gets a 404 and learns nothing;
 * each mutating call leaves A's object as it was; A itself is served normally after.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { echoBackend } from "../fixtures/backends";

let fake: FakeOpenAI;
let s: TestServer;
let other: string;
const a: Record<string, string> = {};

beforeAll(async () => {
  fake = startFakeOpenAI();
  // Every model call asks a question, so conversations stay in `gathering` and generations fail fast.
  fake.respond(() => ({ json: { ready: false, message: "Which region?", asks: [{ id: "r", kind: "text", question: "Which region?" }], facts: {} } }));
  s = await startServer({ OPENAI_BASE_URL: fake.url });
  const up = await s.json("/v1/agents", { method: "POST", json: { name: "Private A", files: { "index.ts": echoBackend }, entrypoint: "index.ts" } });
  a.agent = up.body.data.agent.id;
  a.slug = up.body.data.agent.slug;
  await s.json(`/v1/deploy/${a.agent}`, { method: "POST" });
  a.key = (await s.json(`/v1/agents/${a.agent}/api-keys`, { method: "POST", json: {} })).body.data.apiKey.id;
  a.cred = (await s.json("/api/v1/credentials", { method: "POST", json: { name: "A_TOKEN", value: "a-secret-value", hosts: ["api.a.example"] } })).body.data.id;
  a.gen = (await s.json("/v1/generate", { method: "POST", json: { prompt: "a todo list api with ids", name: "Gen A" } })).body.data.job.id;
  a.val = (await s.json(`/v1/validation/${a.agent}/validate`, { method: "POST", json: {} })).body.data.jobId;
  a.conv = (await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "a todo list api with ids" } })).body.data.uuid;
  const { createWorkspace } = await import("../../src/auth");
  other = (await createWorkspace(s.db, "other")).token.token;
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

test("workspace B gets 404 for every id-taking route with workspace A's ids, and A's objects are untouched", async () => {
  for (const v of Object.values(a)) expect(v).toBeString();
  const routes: [string, string, unknown?][] = [
    ["GET", `/v1/agents/${a.agent}`],
    ["GET", `/v1/agents/by-slug/${a.slug}`],
    ["PATCH", `/v1/agents/${a.agent}`, { name: "taken" }],
    ["PUT", `/v1/agents/${a.agent}/source`, { files: { "index.ts": echoBackend }, entrypoint: "index.ts" }],
    ["GET", `/v1/agents/${a.agent}/versions`],
    ["GET", `/v1/agents/${a.agent}/versions/1`],
    ["POST", `/v1/agents/${a.agent}/rollback`, { version: 1 }],
    ["GET", `/v1/agents/${a.agent}/invocations`],
    ["GET", `/v1/agents/${a.agent}/metrics`],
    ["GET", `/v1/agents/${a.agent}/logs`],
    ["GET", `/v1/agents/${a.agent}/api-keys`],
    ["POST", `/v1/agents/${a.agent}/api-keys`, {}],
    ["POST", `/v1/agents/${a.agent}/api-keys/${a.key}/revoke`],
    ["POST", `/v1/agents/${a.agent}/api-keys/${a.key}/rotate`],
    ["GET", `/v1/agents/${a.agent}/schedule`],
    ["PUT", `/v1/agents/${a.agent}/schedule`, { cron: "0 * * * *" }],
    ["DELETE", `/v1/agents/${a.agent}/schedule`],
    ["POST", `/v1/deploy/${a.agent}`],
    ["GET", `/v1/deploy/${a.agent}/status`],
    ["GET", `/v1/deploy/${a.agent}/endpoint`],
    ["POST", `/v1/deploy/${a.agent}/stop`],
    ["POST", `/v1/downloads/${a.agent}/token`],
    ["GET", `/v1/downloads/${a.agent}/latest`],
    ["GET", `/v1/generate/${a.gen}`],
    ["GET", `/v1/generate/${a.gen}/stream-token`],
    ["POST", `/v1/generate/${a.gen}/stream-token`],
    ["GET", `/v1/generate/${a.gen}/stream`],
    ["POST", `/v1/generate/${a.gen}/cancel`],
    ["POST", `/v1/validation/${a.agent}/validate`, {}],
    ["GET", `/v1/validation/jobs/${a.val}`],
    ["GET", `/v1/validation/agents/${a.agent}/reports`],
    ["GET", `/api/v1/builders/${a.agent}`],
    ["POST", `/api/v1/builders/${a.agent}/start`],
    ["POST", `/api/v1/builders/${a.agent}/stop`],
    ["GET", `/api/v1/builders/${a.agent}/logs`],
    ["GET", `/api/v1/builders/${a.agent}/files`],
    ["DELETE", `/api/v1/credentials/${a.cred}`],
    ["GET", `/api/v1/builder-agents/${a.conv}`],
    ["POST", `/api/v1/builder-agents/${a.conv}/answers`, { message: "eu" }],
    ["POST", `/api/v1/builder-agents/${a.conv}/approve`],
    ["POST", `/api/v1/builder-agents/${a.conv}/rebuild`, { message: "x" }],
    ["DELETE", `/api/v1/builders/${a.agent}`],
    ["DELETE", `/v1/agents/${a.agent}`],
  ];
  const leaks: string[] = [];
  const statuses: number[] = [];
  for (const [method, path, body] of routes) {
    const r = await s.json(path, { method, headers: { authorization: `Bearer ${other}` }, ...(body === undefined ? {} : { json: body }) });
    const text = JSON.stringify(r.body);
    // 404 for an id B cannot see; a 400/401/405 that names nothing of A's is also no leak (e.g. a route that needs another token).
    const named = [a.agent, a.slug, "Private A", "A_TOKEN", "a-secret-value"].some((x) => text.includes(x!)) && !text.includes('"not_found"') && r.status !== 404;
    statuses.push(r.status);
    if (r.status < 400 || named) leaks.push(`${method} ${path} → ${r.status} ${text.slice(0, 200)}`);
  }
  expect(leaks).toEqual([]);
  expect([...new Set(statuses)]).toEqual([404]);
  // B's token is a working token (the 404s are not a bad token's 401s).
  const mine = await s.json("/v1/agents", { headers: { authorization: `Bearer ${other}` } });
  expect([mine.status, mine.body.data]).toEqual([200, []]);
  // A is untouched and served: its agent, key, credential, conversation and jobs are as they were.
  const agent = (await s.json(`/v1/agents/${a.agent}`)).body.data;
  expect(agent.name).toBe("Private A");
  expect((await s.json(`/v1/agents/${a.agent}/api-keys`)).body.data.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([[a.key, "active"]]);
  expect((await s.json("/api/v1/credentials")).body.data.map((c: { id: string }) => c.id)).toEqual([a.cred]);
  expect((await s.json(`/api/v1/builder-agents/${a.conv}`)).status).toBe(200);
  expect((await s.json(`/v1/generate/${a.gen}`)).status).toBe(200);
});
