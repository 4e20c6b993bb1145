/**
 * A workspace may have at most CANTRIP_WORKSPACE_MAX_AGENTS agents (issue 13 follow-up:
 * agents were unbounded, and the per-agent limits are what a tenant multiplies by adding
 * agents). Past the cap every way of creating one — upload (POST /v1/agents), generation
 * (POST /v1/generate, the MCP generate tool) — answers 409 agent_limit_reached and writes
 * nothing; another workspace is not affected, and deleting an agent makes room. On the old
 * code the third upload answered 201.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { createWorkspace } from "../../src/auth";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { call, type Target } from "../reliability/host-helpers";

let s: TestServer;
let fake: FakeOpenAI;
let t: Target;
let other: Target;

beforeAll(async () => {
  fake = startFakeOpenAI();
  // Generations this test starts may run; the model's answer does not matter to it.
  fake.respond(() => ({ content: "no" }));
  s = await startServer({ CANTRIP_WORKSPACE_MAX_AGENTS: "2", OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MODEL_TIMEOUT_MS: "2000" });
  t = { url: s.url, token: s.token };
  other = { url: s.url, token: (await createWorkspace(s.db, "other")).token.token };
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

const upload = (who: Target, name: string) => call(who, "POST", "/v1/agents", { name, files: { "index.ts": trivialBackend(1) }, entrypoint: "index.ts" });
const count = async (who: Target) => (await call(who, "GET", "/v1/agents")).body.data.length as number;

test("past the cap, upload and generation answer 409 agent_limit_reached; another workspace is unaffected; a delete makes room", async () => {
  const first = await upload(t, "one");
  expect(first.status).toBe(201);
  expect((await call(t, "POST", "/v1/generate", { name: "two", prompt: "an API that says hello to whoever calls it" })).status).toBe(202);

  const refused = await upload(t, "three");
  expect([refused.status, refused.body.error?.code]).toEqual([409, "agent_limit_reached"]);
  expect(refused.body.error.message).toContain("(2)");
  const gen = await call(t, "POST", "/v1/generate", { name: "four", prompt: "an API that says hello to whoever calls it" });
  expect([gen.status, gen.body.error?.code]).toEqual([409, "agent_limit_reached"]);
  expect(await count(t)).toBe(2);

  expect((await upload(other, "elsewhere")).status).toBe(201);

  expect((await call(t, "DELETE", `/v1/agents/${first.body.data.agent.id}`)).status).toBeLessThan(300);
  expect((await upload(t, "five")).status).toBe(201);
  expect(await count(t)).toBe(2);
});
