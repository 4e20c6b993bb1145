/**
 * Schedules as users state them (issue 16 §10), over real HTTP with the fake model: plain
 * English becomes cron in the builder's intake (or a question, never a failed deploy);
 * expressions that never fire are refused; a generated backend keeps its plan's schedule;
 * PUT/DELETE /v1/agents/{id}/schedule and `cantrip agents schedule` manage it, in an IANA
 * time zone (default UTC).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { echoBackend } from "../fixtures/backends";
import { eq, ne } from "drizzle-orm";
import { startServer, type TestServer } from "../harness";
import { schedules } from "../../src/db/schema";

const ticker = `
import { defineBackend } from "cantrip";
export default defineBackend({
  routes: { "GET /": async (_input, ctx) => ({ ticks: (await ctx.kv.get("ticks")) ?? 0 }) },
  scheduled: async (ctx) => { await ctx.kv.set("ticks", ((await ctx.kv.get("ticks")) ?? 0) + 1); },
});
`;
const spec = (schedule: string | null) => ({
  name: "Ticker",
  summary: "Counts ticks.",
  routes: [{ method: "GET", path: "/", summary: "the tick count" }],
  rules: [],
  validationRules: [],
  failureBehavior: [],
  externalHosts: [],
  secrets: [],
  storage: "kv: ticks",
  schedule,
  examples: [{ name: "count", request: { method: "GET", path: "/" }, expect: { status: 200 } }],
  invalidInputs: [],
});

let s: TestServer;
let fake: FakeOpenAI;
const kindOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

async function conversation(prompt: string) {
  const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt, skip_approval: true, skip_review: true } });
  expect(r.status).toBe(202);
  let conv: any;
  for (let i = 0; i < 600; i++) {
    conv = (await s.json(`/api/v1/builder-agents/${r.body.data.uuid}`)).body.data;
    if (conv.status !== "processing") break;
    await Bun.sleep(25);
  }
  return conv;
}

async function deployed(name: string, code: string) {
  const up = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", autoDeploy: true } });
  expect(up.status).toBe(201);
  const agent = up.body.data.agent as { id: string; slug: string };
  for (let i = 0; i < 200 && (await s.json(`/v1/agents/${agent.id}`)).body.data.status !== "deployed"; i++) await Bun.sleep(25);
  return agent;
}

describe("builder conversations", () => {
  test('"every weekday at 9am" in the intake becomes cron (and the time zone the user named) before anything is built', async () => {
    const scheduleCalls: RecordedCall[] = [];
    fake.respond((call) => {
      const kind = kindOf(call);
      if (kind === "ask") return { json: { ready: true, message: "ok", asks: [], facts: { schedule: "every weekday at 9am Berlin time" }, name: "Ticker" } };
      if (kind === "schedule") return scheduleCalls.push(call), { json: { cron: "0 9 * * 1-5", timezone: "Europe/Berlin" } };
      if (kind === "plan") return { json: spec("every weekday at 9am") };
      return { content: "```ts\n" + ticker + "\n```" };
    });
    const conv = await conversation("Count ticks every weekday at 9am Berlin time");
    expect(conv.status).toBe("deployed");
    expect(scheduleCalls).toHaveLength(1);
    expect(scheduleCalls[0]!.lastUser).toContain("every weekday at 9am Berlin time");
    expect(conv.builder.schedule).toBe("0 9 * * 1-5");
    const sched = (await s.json(`/v1/agents/${conv.builder.uuid}/schedule`)).body.data;
    expect(sched).toMatchObject({ cron: "0 9 * * 1-5", timezone: "Europe/Berlin", enabled: true });
    const next = new Date(sched.nextRunAt);
    expect(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", weekday: "short" }).format(next)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
  });

  test("a schedule that cannot be read becomes a question to the user; nothing is planned or deployed", async () => {
    fake.respond((call) => {
      const kind = kindOf(call);
      if (kind === "ask") return { json: { ready: true, message: "Building it.", asks: [], facts: { schedule: "whenever it feels right" }, name: "Ticker" } };
      if (kind === "schedule") return { json: { cron: null } };
      return undefined;
    });
    const conv = await conversation("Count ticks whenever it feels right");
    expect(conv.status).toBe("gathering");
    expect(conv.questions.join(" ")).toContain("How often should it run?");
    expect(conv.builder ?? null).toBeNull();
    expect(fake.calls.some((c) => kindOf(c) === "plan" && c.lastUser.includes("whenever it feels right"))).toBe(false);
  });
});

describe("the schedule API", () => {
  test("PUT sets it in a time zone, GET reads it, DELETE removes it; bad input is a clear 400", async () => {
    const a = await deployed("Sched Api", ticker);
    const put = await s.json(`/v1/agents/${a.id}/schedule`, { method: "PUT", json: { cron: "0 9 * * *", timezone: "America/New_York" } });
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({ cron: "0 9 * * *", timezone: "America/New_York", mode: "always_on" });
    const hourNY = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "numeric", hour12: false }).format(new Date(put.body.data.nextRunAt));
    expect(Number(hourNY)).toBe(9);
    expect((await s.json(`/v1/agents/${a.id}/schedule`)).body.data.cron).toBe("0 9 * * *");

    const cases: [Record<string, unknown>, string, string][] = [
      [{ cron: "0 0 30 2 *" }, "cron", "NeverRuns"],
      [{ cron: "* * * * * *" }, "cron", "Cron"],
      [{ cron: "0 9 * * *", timezone: "Mars/Olympus_Mons" }, "timezone", "TimeZone"],
      [{ cron: "every day" }, "cron", "Cron"],
    ];
    for (const [body, field, rule] of cases) {
      const r = await s.json(`/v1/agents/${a.id}/schedule`, { method: "PUT", json: body });
      expect({ body, status: r.status, code: r.body.error.code, rule: r.body.error.details?.[0]?.rule }).toEqual({ body, status: 400, code: "invalid_request", rule });
      expect(r.body.error.details[0].field).toBe(field);
    }
    expect((await s.json(`/v1/agents/${a.id}/schedule`)).body.data.cron).toBe("0 9 * * *"); // unchanged by the refusals

    const del = await s.json(`/v1/agents/${a.id}/schedule`, { method: "DELETE" });
    expect(del.body.data.deleted).toBe(true);
    expect((await s.json(`/v1/agents/${a.id}/schedule`)).body.data).toBeNull();
  });

  test("a backend without a scheduled handler cannot be given a schedule", async () => {
    const a = await deployed("Sched None", echoBackend);
    const r = await s.json(`/v1/agents/${a.id}/schedule`, { method: "PUT", json: { cron: "@hourly" } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("no scheduled handler");
  });

  test("POST /api/v1/builders refuses an expression that never fires", async () => {
    const r = await s.json("/api/v1/builders", { method: "POST", json: { name: "Never", files: { "index.ts": ticker }, entrypoint: "index.ts", schedule: "0 0 30 2 *" } });
    expect(r.status).toBe(400);
    expect(r.body.error?.message ?? r.body.message).toContain("never runs");
  });

  test("the scheduler reads the schedule in its time zone", async () => {
    const a = await deployed("Sched Tz", ticker);
    await s.json(`/v1/agents/${a.id}/schedule`, { method: "PUT", json: { cron: "30 6 * * *", timezone: "Asia/Kolkata" } });
    const at = Date.UTC(2026, 0, 10, 1, 0, 0); // 06:30 in Kolkata is 01:00 UTC
    await s.db.tx(async (t) => {
      await t.update(schedules).set({ enabled: false }).where(ne(schedules.agentId, a.id));
      await t.update(schedules).set({ nextRunAt: at }).where(eq(schedules.agentId, a.id));
    });
    expect(await s.app.internals.scheduler.tick(at)).toBe(1);
    const next = (await s.db.select({ n: schedules.nextRunAt }).from(schedules).where(eq(schedules.agentId, a.id)))[0]!;
    expect(next.n).toBe(at + 86_400_000);
  });

  test("cantrip agents schedule sets, shows and clears it", async () => {
    const a = await deployed("Sched Cli", ticker);
    const cli = async (...args: string[]) => {
      const p = Bun.spawn([process.execPath, "src/main.ts", "agents", "schedule", a.slug, ...args, "--url", s.url, "--token", s.token], { stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { out: out.trim(), err, code };
    };
    const set = await cli("*/30 * * * *", "--timezone", "Europe/Paris");
    expect(set.code).toBe(0);
    expect(set.out).toStartWith("*/30 * * * * (Europe/Paris, always_on)");
    expect((await cli()).out).toStartWith("*/30 * * * * (Europe/Paris");
    const bad = await cli("0 0 30 2 *");
    expect(bad.code).toBe(3);
    expect((await cli("--clear")).out).toBe("schedule removed");
    expect((await cli()).out).toBe("no schedule");
  }, 30_000);
});

test("POST /v1/generate keeps the plan's schedule for a backend with a scheduled handler", async () => {
  fake.respond((call) => {
    const kind = kindOf(call);
    if (kind === "plan") return { json: spec("*/5 * * * *") };
    return { content: "```ts\n" + ticker + "\n```" };
  });
  const r = await s.json("/v1/generate", { method: "POST", json: { name: "Generated Ticker", prompt: "Count ticks every five minutes.", autoDeploy: true } });
  expect(r.status).toBe(202);
  let job: any;
  for (let i = 0; i < 400; i++) {
    job = (await s.json(`/v1/generate/${r.body.data.job.id}`)).body.data;
    if (["completed", "failed"].includes(job.status)) break;
    await Bun.sleep(25);
  }
  expect(job.status).toBe("completed");
  expect(job.logs.some((l: any) => l.message.includes('scheduled handler runs on "*/5 * * * *"'))).toBe(true);
  const sched = (await s.json(`/v1/agents/${r.body.data.agent.id}/schedule`)).body.data;
  expect(sched).toMatchObject({ cron: "*/5 * * * *", timezone: "UTC" });
});
