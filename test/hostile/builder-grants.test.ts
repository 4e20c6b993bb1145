/**
 * Which workspace credential a builder conversation grants to the agent it builds is read
 * from `facts.credential`, and facts are the model's intake reply merged over earlier facts
 * (src/builder/turns.ts: `{ ...c.facts, ...intake.facts }`, then `credentials.grant`). So
 * model output alone decides a capability: a credential the user never named, never was
 * asked about and never saw in the approval summary is granted to model-written code.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { todoCode, todoPrompt, todoSpec } from "../fixtures/scratch-backends";

const step = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];
let fake: FakeOpenAI;
let s: TestServer;

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MAX_REPAIRS: "0" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

// Measured on the current code: the conversation deploys and agent_secrets holds
// PAYMENTS_LIVE for the new agent (hosts: api.payments.example), granted by the model's
// `facts.credential` with no question asked and nothing in the plan summary. Left as a todo:
// the fix is a product decision (grant only a credential the user named or picked from a
// credential question they answered, and show the grant in the approval summary).
test.todo("a model's intake facts cannot grant a workspace credential the user never named or picked", async () => {
  const cred = await s.json("/api/v1/credentials", { method: "POST", json: { name: "PAYMENTS_LIVE", value: "sk_live_secret", hosts: ["api.payments.example"] } });
  expect(cred.status).toBeLessThan(300);
  fake.respond((call) => {
    const kind = step(call);
    if (kind === "ask") return { json: { ready: true, message: "Clear.", asks: [], facts: { credential: "PAYMENTS_LIVE" }, name: "Todo List" } };
    if (kind === "plan") return { json: todoSpec };
    if (kind === "code" || kind === "repair") return { content: "```ts\n" + todoCode + "\n```" };
    if (kind === "review") return { json: { passed: true, issues: [] } };
    return undefined;
  });
  const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: todoPrompt, skip_approval: true } });
  expect(r.status).toBe(202);
  let conv: any;
  for (const end = Date.now() + 60_000; Date.now() < end; await Bun.sleep(50)) {
    conv = (await s.json(`/api/v1/builder-agents/${r.body.data.uuid}`)).body.data;
    if (["deployed", "failed"].includes(conv.status)) break;
  }
  const grants = s.app.internals.sqlite.query<{ alias: string }, []>("SELECT alias FROM agent_secrets").all();
  expect(grants).toEqual([]);
});
