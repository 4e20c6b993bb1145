/**
 * Issue 20 over real HTTP, the real pipeline, sandbox and SQLite, with the fake model:
 * validation, QA and self-heal run in a scratch world (the live agent's kv stays as it
 * was), examples share state and quote earlier responses, upstream fixtures stand in for
 * external services (and their absence is diagnosed as the environment's), and the code and
 * repair requests carry the requirements, the rules and the earlier attempts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall, type Step } from "../fakes/fake-openai";
import { asc, eq } from "drizzle-orm";
import { startServer, type TestServer } from "../harness";
import { kv } from "../../src/db/schema";
import { todoCode, todoPrompt, todoSpec, weatherCode, weatherPrompt, weatherSpec, WEATHER_HOST } from "../fixtures/scratch-backends";

const stepOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1] ?? "unknown";
const fenced = (code: string): Step => ({ content: "```ts\n" + code + "\n```" });

let fake: FakeOpenAI;
let s: TestServer;

/** Plans by prompt; code and repair answer `code(prompt)`; ask/review for the builder. */
function model(plans: Record<string, unknown>, code: Record<string, string>) {
  fake.respond((call) => {
    const kind = stepOf(call);
    const key = Object.keys(plans).find((p) => call.lastUser.includes(p) || call.messages.some((m) => m.content.includes(p)));
    if (kind === "ask") return { json: { ready: true, message: "Clear.", asks: [], facts: {}, name: "Todo List" } };
    if (kind === "review") return { json: { passed: true, issues: [] } };
    if (!key) return undefined;
    if (kind === "plan") return { json: plans[key] };
    if (kind === "code" || kind === "repair") return fenced(code[key]!);
    return undefined;
  });
}

const liveKvRows = (agentId: string) => s.db.select({ key: kv.key, value: kv.value }).from(kv).where(eq(kv.agentId, agentId)).orderBy(asc(kv.key));

async function generate(name: string, prompt: string, autoDeploy = true) {
  const r = await s.json("/v1/generate", { method: "POST", json: { name, prompt, autoDeploy } });
  expect(r.status).toBe(202);
  const job = await s.app.internals.queue.waitFor(r.body.data.job.id, 60_000);
  return { agent: r.body.data.agent as { id: string; slug: string }, job, events: await s.app.internals.queue.events(job.id) };
}

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MAX_REPAIRS: "2" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

describe("a stateful backend", () => {
  test("validation runs create → read → delete in a scratch world; the live kv stays empty and GET /todos is []", async () => {
    model({ [todoPrompt]: todoSpec }, { [todoPrompt]: todoCode });
    const before = fake.calls.length;
    const { agent, job, events } = await generate("Todo Scratch", todoPrompt);
    expect(job.status).toBe("completed");
    // A plan with no invalid inputs is accepted and validated.
    expect(todoSpec.invalidInputs).toEqual([]);
    const v = (await s.json(`/v1/agents/${agent.id}/versions/1`)).body.data;
    const checks = v.validation.checks as { name: string; ok: boolean; status?: number; request?: { path: string } }[];
    expect(checks.map((c) => [c.name, c.ok, c.status])).toEqual([
      ["module loads", true, undefined],
      ["empty list", true, 200],
      ["create", true, 201],
      ["read", true, 200],
      ["delete", true, 204],
      ["gone", true, 404],
    ]);
    // The template was filled with the id the create example returned.
    expect(checks[3]!.request!.path).toMatch(/^\/todos\/[0-9a-f-]{36}$/);
    expect(await liveKvRows(agent.id)).toEqual([]);
    const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "t" } })).body.data.key;
    const list = await fetch(`${s.url}/apps/${agent.slug}/todos`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json());
    expect(list).toEqual({ todos: [] });
    // Re-validating the live version (the `validate` job) also runs in a scratch world.
    const again = await s.json(`/v1/validation/${agent.id}/validate`, { method: "POST" });
    expect(again.status).toBe(202);
    const vjob = await s.app.internals.queue.waitFor(again.body.data.jobId, 60_000);
    expect((vjob.result as any).validation).toMatchObject({ ok: true, failed: 0 });
    expect(await liveKvRows(agent.id)).toEqual([]);
    // Requirements and rules reach the code step; the SDK shown is cut to what it uses.
    const code = fake.calls.slice(before).find((c) => stepOf(c) === "code")!;
    expect(code.lastUser).toContain(todoPrompt);
    expect(code.lastUser).toContain("- a new todo has done = false");
    expect(code.system).toContain("export interface KV");
    expect(code.system).not.toContain("export interface Secrets");
    expect(code.body.max_tokens).toBe(8192);
    // Each model call's prompt size is measured by cantrip and logged.
    const logged = events.filter((e) => /^model call \(code\)/.test(e.message ?? "")).map((e) => e.data as { promptTokens: number });
    expect(logged[0]!.promptTokens).toBe(Math.ceil(code.system.length / 4) + Math.ceil(code.lastUser.length / 4));
  });

  test("the plan prompt allows zero invalid inputs and shows the error shape and non-200 statuses", () => {
    const plan = fake.calls.find((c) => stepOf(c) === "plan")!;
    expect(plan.system).toContain("invalidInputs: 0 to 3");
    expect(plan.system).toContain('{ "error": { "code": string, "message": string, "details"?: any } }');
    expect(plan.system).toMatch(/201 created.*204.*429/);
    expect(JSON.stringify(plan.response_format)).toContain('"assertions"');
    expect(plan.body.max_tokens).toBe(4096);
  });

  test("builder QA and self-heal run in a scratch world: the live data is neither read nor changed", async () => {
    model({ [todoPrompt]: todoSpec }, { [todoPrompt]: todoCode });
    const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: todoPrompt, skip_approval: true } });
    expect(r.status).toBe(202);
    const uuid = r.body.data.uuid;
    let c: any;
    for (let i = 0; i < 600; i++) {
      c = (await s.json(`/api/v1/builder-agents/${uuid}`)).body.data;
      if (["deployed", "failed"].includes(c.status)) break;
      await Bun.sleep(50);
    }
    expect(c.status).toBe("deployed");
    expect(c.qa_passed).toBe(true);
    const agentId = c.builder.uuid;
    expect(await liveKvRows(agentId)).toEqual([]);
    // A user's own todo, then a self-heal: the scratch run's "empty list" passes anyway and
    // the user's todo is neither lost nor joined by the examples' "Buy milk".
    const mine = await fetch(c.builder.preview_url + "todos", {
      method: "POST",
      headers: { authorization: `Bearer ${c.builder.service_token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "mine" }),
    });
    expect(mine.status).toBe(201);
    const liveBefore = await liveKvRows(agentId);
    expect(liveBefore.length).toBe(1);
    const version = (await s.json(`/v1/agents/${agentId}`)).body.data.liveVersion;
    const now = Date.now();
    for (let i = 0; i < 25; i++)
      s.app.internals.invocations.record({ agentId, version, keyId: null, source: "app", method: "GET", path: "/todos", status: 502, latencyMs: 3, errorCode: "endpoint_unreachable", requestId: `r${i}`, at: now - i * 1000 });
    const callsBefore = fake.calls.length;
    expect(await s.app.internals.scheduler.monitor(now)).toEqual([uuid]);
    for (let i = 0; i < 300; i++) {
      c = (await s.json(`/api/v1/builder-agents/${uuid}`)).body.data;
      if (c.history.some((h: any) => h.kind === "self_heal")) break;
      await Bun.sleep(50);
    }
    expect(c.history.find((h: any) => h.kind === "self_heal").message).toContain("self-heal deployed a fix");
    // The self-heal's code request carries the requirements, the rules and the evidence.
    const healCode = fake.calls.slice(callsBefore).find((x) => stepOf(x) === "code")!;
    expect(healCode.lastUser).toContain(todoPrompt);
    expect(healCode.lastUser).toContain("- a new todo has done = false");
    expect(healCode.lastUser).toContain("Failures seen on the deployed version (fix their cause):\nGET /todos → 502 endpoint_unreachable");
    expect((await s.json(`/v1/agents/${agentId}`)).body.data.liveVersion).toBe(version + 1);
    expect(await liveKvRows(agentId)).toEqual(liveBefore);
    expect(JSON.stringify(await liveKvRows(agentId))).not.toContain("Buy milk");
  });
});

describe("a backend that calls another service", () => {
  test("passes validation with upstream fixtures: no network, no DNS, no granted secret", async () => {
    const prompt = weatherPrompt + " (fixtures)";
    model({ [prompt]: weatherSpec() }, { [prompt]: weatherCode });
    const { agent, job } = await generate("Weather Fixtures", prompt, false);
    if (job.status !== "completed") console.error(JSON.stringify(job.failure, null, 1));
    expect(job.status).toBe("completed");
    expect((job.result as any).validation.repairs).toBe(0);
    const v = (await s.json(`/v1/agents/${agent.id}/versions/1`)).body.data;
    const oslo = v.validation.checks.find((c: any) => c.name === "oslo");
    expect(oslo.response).toEqual({ city: "Oslo", tempC: 10, tempF: 50 });
    expect(oslo.upstream).toEqual([{ method: "GET", url: `https://${WEATHER_HOST}/v1/current?city=Oslo`, fixture: 0, status: 200 }]);
  });

  test("without fixtures it fails with a 'no fixture matched' diagnostic marked as the environment's, with the backend's log lines; repairs see the earlier attempts", async () => {
    const prompt = weatherPrompt + " (no fixtures)";
    model({ [prompt]: weatherSpec({ fixtures: false }) }, { [prompt]: weatherCode });
    const before = fake.calls.length;
    const { job, events } = await generate("Weather No Fixtures", prompt, false);
    expect(job.status).toBe("failed");
    const report = (await s.json(`/v1/agents/by-slug/weather-no-fixtures`)).body.data.failure.report;
    const oslo = report.checks.find((c: any) => c.name === "oslo");
    expect(oslo.environment[0]).toContain(`no fixture matched GET https://${WEATHER_HOST}/v1/current?city=Oslo with headers authorization: Bearer {{secret:WEATHER_KEY}}`);
    expect(oslo.environment[0]).toContain("this example declares no upstream fixtures");
    expect(oslo.logs.join("\n")).toContain("weather request failed: fetch: no fixture matched");
    // Every repair attempt is counted, also for a failed job.
    expect(events.filter((e) => /^repair attempt/.test(e.message ?? "")).length).toBe(2);

    const repairs = fake.calls.slice(before).filter((c) => stepOf(c) === "repair");
    expect(repairs.length).toBe(2);
    for (const r of repairs) {
      expect(r.lastUser).toContain(prompt); // the requirements
      expect(r.lastUser).toContain("- tempF = tempC * 9 / 5 + 32"); // the rules
      expect(r.lastUser).toContain("sandbox environment (not the code itself): no fixture matched GET");
      expect(r.lastUser).toContain("backend log:");
      expect(r.system).toContain("export interface Secrets");
    }
    expect(repairs[0]!.lastUser).not.toContain("Earlier attempts");
    // The fake answers the same module again: the history says so.
    expect(repairs[1]!.lastUser).toContain("Earlier attempts (oldest first; the current module is attempt 2, the same module as attempt 1: try a different fix)");
    expect(repairs[1]!.lastUser).toMatch(/- attempt 1: 2 check\(s\) passed, 2 failed: oslo \(sandbox environment: no fixture matched GET https:\/\/api\.weather\.example\/v1\/current\?city=Oslo with headers authorization: Bearer \{\{secret:WEATHER_KEY\}\}\); service down/);
    const code = fake.calls.slice(before).find((c) => stepOf(c) === "code")!;
    expect(code.lastUser).toContain("- tempF = tempC * 9 / 5 + 32");
  });

  test("a request with the wrong headers matches no fixture, and the diagnostic lists the fixture it missed", async () => {
    const prompt = weatherPrompt + " (no key)";
    const noKey = weatherCode.replace(`{ headers: { authorization: "Bearer " + ctx.secrets.ref("WEATHER_KEY") } }`, "{}");
    expect(noKey).not.toBe(weatherCode);
    model({ [prompt]: weatherSpec() }, { [prompt]: noKey });
    const { job } = await generate("Weather No Key", prompt, false);
    expect(job.status).toBe("failed");
    const report = (await s.json(`/v1/agents/by-slug/weather-no-key`)).body.data.failure.report;
    const oslo = report.checks.find((c: any) => c.name === "oslo");
    expect(oslo.environment[0]).toContain(`fixtures for this example: GET https://${WEATHER_HOST}/v1/current?city=Oslo with authorization: Bearer {{secret:WEATHER_KEY}}`);
  });
});
