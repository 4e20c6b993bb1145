/**
 * Worked examples in the format real callers send (issue 16 §9): a plan's example may carry
 * a Content-Type and the raw body, so a webhook backend that only accepts
 * form-urlencoded (as Slack sends it) validates against what Slack sends.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";

const slack = `
import { defineBackend, t, HttpError } from "cantrip";
export default defineBackend({
  routes: {
    "POST /slack": {
      input: t.Object({ command: t.String(), text: t.String() }),
      handle: async (input, ctx) => {
        if (!(ctx.request?.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) throw new HttpError(415, "Slack sends forms");
        return { response_type: "in_channel", text: input.command + " " + input.text };
      },
    },
  },
});
`;

const spec = (request: Record<string, unknown>) => ({
  name: "Slack command",
  summary: "Answers a slash command.",
  routes: [{ method: "POST", path: "/slack", summary: "the slash command" }],
  rules: [],
  validationRules: [],
  failureBehavior: [],
  externalHosts: [],
  secrets: [],
  storage: null,
  schedule: null,
  examples: [{ name: "weather", request: { method: "POST", path: "/slack", ...request }, expect: { status: 200, assertions: [{ path: "text", equals: "/weather 94070" }] } }],
  invalidInputs: [{ name: "missing text", request: { method: "POST", path: "/slack", contentType: "application/x-www-form-urlencoded", rawBody: "command=%2Fweather" }, expectStatus: 400 }],
});

let s: TestServer;
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MAX_REPAIRS: "0" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

async function generate(planned: unknown) {
  fake.respond((call) => (/\[cantrip:plan\]/.test(call.system) ? { json: planned } : { content: "```ts\n" + slack + "\n```" }));
  const r = await s.json("/v1/generate", { method: "POST", json: { name: "Slack Weather", prompt: "A Slack slash command that answers with the weather." } });
  for (let i = 0; i < 400; i++) {
    const job = (await s.json(`/v1/generate/${r.body.data.job.id}`)).body.data;
    if (["completed", "failed"].includes(job.status)) return job;
    await Bun.sleep(25);
  }
  throw new Error("job did not finish");
}

test("an example with contentType and rawBody is sent as a form, and passes", async () => {
  const job = await generate(spec({ contentType: "application/x-www-form-urlencoded", rawBody: "command=%2Fweather&text=94070" }));
  expect(job.failure ?? null).toBeNull();
  expect(job.status).toBe("completed");
});

test("the same example as JSON is refused by the backend, as Slack's real format is not JSON", async () => {
  const job = await generate(spec({ body: { command: "/weather", text: "94070" } }));
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("validation_failed");
  const agent = (await s.json(`/v1/agents/${job.agentId}`)).body.data;
  expect(JSON.stringify(agent.failure.report)).toContain("415");
});
