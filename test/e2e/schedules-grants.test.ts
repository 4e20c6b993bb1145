/**
 * Issue 13 §7 and §8 over real HTTP: schedules with a seconds field or a gap shorter than
 * CANTRIP_SCHEDULE_MIN_INTERVAL_S are refused with 400 invalid_request wherever a schedule
 * is accepted (POST /api/v1/builders, a builder conversation's plan), and the scheduler
 * never runs a stored schedule more often than the minimum; credential hosts take the
 * `[scheme://]host[:port]` form and are stored canonical.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { eq, ne } from "drizzle-orm";
import { startServer, type TestServer } from "../harness";
import { schedules } from "../../src/db/schema";

const MIN_S = 600; // this server's minimum interval: 10 minutes
const BACKEND = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": () => ({ ok: true }) }, scheduled: async (ctx) => { await ctx.kv.set("ran", true); } });`;

const TICKER_SPEC = {
  name: "Ticker",
  summary: "Counts ticks.",
  routes: [{ method: "GET", path: "/", summary: "the tick count" }],
  validationRules: [],
  failureBehavior: [],
  externalHosts: [],
  secrets: [],
  rules: [],
  storage: "kv: ticks",
  schedule: "* * * * * *",
  examples: [{ name: "count", request: { method: "GET", path: "/" }, expect: { status: 200 } }],
  invalidInputs: [],
};

let s: TestServer;
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_SCHEDULE_MIN_INTERVAL_S: String(MIN_S) });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

const createBuilder = (name: string, schedule?: string) =>
  s.json("/api/v1/builders", { method: "POST", json: { name, files: { "index.ts": BACKEND }, entrypoint: "index.ts", ...(schedule ? { schedule } : {}) } });

describe("schedules: no seconds, a minimum interval, a clear 400", () => {
  test.each([
    ["every second", "* * * * * *", /6 fields; schedules use the 5 standard cron fields/],
    ["every 10 seconds", "*/10 * * * * *", /6 fields/],
    ["a year field", "0 0 1 1 * 2030", /6 fields/],
    ["every 5 minutes (minimum is 10)", "*/5 * * * *", /can run every 5 minutes; schedules may run at most once every 10 minutes/],
    ["two runs a minute apart each hour", "0,1 * * * *", /can run every minute/],
    ["23:55, then 00:00 the next day", "0,55 0,23 * * *", /can run every 5 minutes/],
    ["not cron at all", "every day", /not a valid cron expression/],
  ])("%s: %s → 400 invalid_request", async (_name, schedule, message) => {
    const before = (await s.json("/api/v1/builders")).body.data.length;
    const r = await createBuilder(`refused ${schedule}`, schedule);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    expect(r.body.error.message).toMatch(message);
    expect((await s.json("/api/v1/builders")).body.data.length).toBe(before); // nothing was created
  });

  test.each([["*/10 * * * *"], ["@hourly"], ["0 9 * * MON-FRI"]])("%s is accepted", async (schedule) => {
    const r = await createBuilder(`ok ${schedule}`, schedule);
    expect(r.status).toBe(201);
    expect(r.body.data.schedule).toBe(schedule);
  });

  test("a builder conversation whose plan asks for every second fails before approval with invalid_request", async () => {
    fake.respond((call) => {
      const kind = /\[cantrip:(\w+)\]/.exec(call.system)?.[1];
      // The intake settles no schedule; the plan then names an every-second one.
      if (kind === "ask") return { json: { ready: true, message: "ok", asks: [], facts: {}, name: "Ticker" } };
      if (kind === "plan") return { json: { ...TICKER_SPEC, schedule: "* * * * * *" } };
      return undefined;
    });
    const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "Tick every second and count the ticks" } });
    expect(r.status).toBe(202);
    let conv: any;
    for (let i = 0; i < 400; i++) {
      conv = (await s.json(`/api/v1/builder-agents/${r.body.data.uuid}`)).body.data;
      if (conv.status !== "processing") break;
      await Bun.sleep(25);
    }
    expect(conv.status).toBe("failed");
    expect(conv.message).toMatch(/schedule: "\* \* \* \* \* \*" has 6 fields/);
    expect(conv.builder ?? null).toBeNull(); // nothing was generated or deployed
  });

  test("the scheduler runs a stored too-frequent schedule at most once per minimum interval", async () => {
    const r = await createBuilder("legacy ticker", "*/10 * * * *");
    const uuid = r.body.data.uuid;
    for (let i = 0; i < 400 && (await s.json(`/api/v1/builders/${uuid}`)).body.data.live_version === null; i++) await Bun.sleep(25);
    // a row stored before the rule existed
    const now = Date.now();
    await s.db.tx(async (t) => {
      await t.update(schedules).set({ cron: "* * * * * *", nextRunAt: now }).where(eq(schedules.agentId, uuid));
      await t.update(schedules).set({ enabled: false }).where(ne(schedules.agentId, uuid)); // count this one only
    });
    const sched = s.app.internals.scheduler;
    expect(await sched.tick(now)).toBe(1);
    expect(await sched.tick(now + 1000)).toBe(0);
    expect(await sched.tick(now + 30_000)).toBe(0);
    expect(await sched.tick(now + MIN_S * 1000 - 1)).toBe(0);
    expect(await sched.tick(now + MIN_S * 1000)).toBe(1);
  });
});

describe("credential hosts: [scheme://]host[:port]", () => {
  test("stored canonical; a bare host is shown as it was given", async () => {
    const r = await s.json("/api/v1/credentials", {
      method: "POST",
      json: { name: "SVC", value: "v", hosts: ["HTTP://API.Example.com:08080", "api.example.com", "*.example.com:8443", "https://[::1]:8443", "api.example.com"] },
    });
    expect(r.status).toBe(201);
    expect(r.body.data.hosts).toEqual(["http://api.example.com:8080", "api.example.com", "*.example.com:8443", "https://[::1]:8443"]);
  });

  test.each([["ftp://files.example.com"], ["http://x.example.com:0"], ["x.example.com/path"], ["http://x.example.com:99999"]])("%s → 400 invalid_request", async (host) => {
    const r = await s.json("/api/v1/credentials", { method: "POST", json: { name: "BAD", value: "v", hosts: [host] } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
  });
});
