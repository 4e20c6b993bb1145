/**
 * The builder conversation end to end (the seed example): "Watch my CRM for new leads every
 * 5 minutes and expose them" → gathering (credential? schedule?) → answer → approval →
 * deployed → a scheduled run (clock driven by the test) stores the leads → GET
 * preview_url/leads returns them. Plus the state rules and credential secrecy.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { startServer, testDialect, type TestServer } from "../harness";
import * as schema from "../../src/db/schema";
import { startFakeCrm, type FakeCrm } from "../fixtures/fake-crm";
import { crmBackend, crmSpec } from "../fixtures/crm-backend";
import { leadSpec } from "../fixtures/lead-spec";
import { leadCode, wrongBehavior } from "../fixtures/lead-code";

const SECRET = "crm-secret-value-8f3a9c";
let fake: FakeOpenAI;
let crm: FakeCrm;
let s: TestServer;
const step = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];

/** The fake model: asks about credential + schedule until the user answered, then plans the CRM watcher. */
function crmModel(opts: { code?: () => string } = {}) {
  fake.respond((call) => {
    const kind = step(call);
    if (kind === "ask") {
      const answered = /user \[answer\]/.test(call.lastUser);
      if (!answered)
        return {
          json: {
            ready: false,
            message: "Use stored CRM credentials or paste new ones? How often should I check?",
            asks: [
              { id: "credential", kind: "credential", question: "Which stored credential should I use for the CRM?", options: ["CRM_TOKEN", "paste new"] },
              { id: "schedule", kind: "choice", question: "How often should I check for new leads?", options: ["every 5 minutes", "hourly"] },
            ],
            facts: {},
            name: "CRM Lead Watcher",
          },
        };
      return { json: { ready: true, message: "Got it.", asks: [], facts: { credential: "CRM_TOKEN", schedule: "*/5 * * * *", mode: "always_on" }, name: "CRM Lead Watcher" } };
    }
    if (kind === "plan") return { json: call.lastUser.includes("lead profile") ? leadSpec : crmSpec(crm.host) };
    if (kind === "code" || kind === "repair") return { content: "```ts\n" + (opts.code?.() ?? (call.lastUser.includes("lead profile") ? leadCode : crmBackend(crm.url))) + "\n```" };
    if (kind === "review") return { json: { passed: true, issues: [] } };
    return undefined;
  });
}

beforeAll(async () => {
  fake = startFakeOpenAI();
  crm = startFakeCrm(SECRET);
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_EGRESS_ALLOW_HOSTS: "127.0.0.1", CANTRIP_MAX_REPAIRS: "1" });
});
afterAll(async () => {
  await s.stop();
  await crm.stop();
  await fake.stop();
});

async function until(uuid: string, statuses: string[], timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await s.json(`/api/v1/builder-agents/${uuid}`);
    if (statuses.includes(r.body.data.status)) return r.body.data;
    if (Date.now() > end) throw new Error(`conversation still ${r.body.data.status}: ${r.body.data.message}`);
    await Bun.sleep(40);
  }
}

describe("the seed conversation", () => {
  let uuid: string;
  let conv: any;

  test("store the CRM credential (value never returned)", async () => {
    const r = await s.json("/api/v1/credentials", { method: "POST", json: { name: "CRM_TOKEN", value: SECRET, hosts: [`http://${crm.host}`] } });
    expect(r.status).toBe(201);
    expect(JSON.stringify(r.body)).not.toContain(SECRET);
    const list = await s.json("/api/v1/credentials");
    expect(list.body.data.map((c: any) => c.name)).toEqual(["CRM_TOKEN"]);
    expect(JSON.stringify(list.body)).not.toContain(SECRET);
  });

  test("processing → gathering with questions", async () => {
    crmModel();
    const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "Watch my CRM for new leads every 5 minutes and expose them" } });
    expect(r.status).toBe(202);
    expect(r.body.success).toBe(true);
    expect(r.body.data.status).toBe("processing");
    uuid = r.body.data.uuid;
    conv = await until(uuid, ["gathering", "failed"]);
    expect(conv.status).toBe("gathering");
    expect(conv.questions).toEqual([
      "Which stored credential should I use for the CRM? (CRM_TOKEN / paste new)",
      "How often should I check for new leads? (every 5 minutes / hourly)",
    ]);
    expect(conv.asks[0].kind).toBe("credential");
  });

  test("approve in the wrong state is 409 invalid_state naming the state", async () => {
    const r = await s.json(`/api/v1/builder-agents/${uuid}/approve`, { method: "POST" });
    expect(r.status).toBe(409);
    expect(r.body.success).toBe(false);
    expect(r.body.error.code).toBe("invalid_state");
    expect(r.body.error.details).toEqual({ state: "gathering", allowed: ["answers"] });
  });

  test("answer → awaiting_approval; answering again is 409", async () => {
    const r = await s.json(`/api/v1/builder-agents/${uuid}/answers`, { method: "POST", json: { message: "Use the stored CRM_TOKEN, and check every 5 minutes." } });
    expect(r.status).toBe(202);
    expect(r.body.data.status).toBe("processing");
    conv = await until(uuid, ["awaiting_approval", "failed"]);
    expect(conv.status).toBe("awaiting_approval");
    const again = await s.json(`/api/v1/builder-agents/${uuid}/answers`, { method: "POST", json: { message: "more" } });
    expect(again.status).toBe(409);
    const rebuild = await s.json(`/api/v1/builder-agents/${uuid}/rebuild`, { method: "POST", json: { message: "x" } });
    expect(rebuild.status).toBe(409);
  });

  test("approve → deployed with a builder and preview URL", async () => {
    const r = await s.json(`/api/v1/builder-agents/${uuid}/approve`, { method: "POST" });
    expect(r.status).toBe(202);
    conv = await until(uuid, ["deployed", "failed"], 60_000);
    expect(conv.status).toBe("deployed");
    expect(conv.review_passed).toBe(true);
    expect(conv.qa_passed).toBe(true);
    expect(conv.builder.preview_url).toMatch(/\/apps\/crm-lead-watcher\/$/);
    expect(conv.builder.service_token).toMatch(/^ctp_ak_/);
    expect(conv.builder.schedule).toBe("*/5 * * * *");
  });

  test("a scheduled run (clock driven) stores leads; GET preview_url/leads returns them", async () => {
    const before = await fetch(conv.builder.preview_url + "leads", { headers: { authorization: `Bearer ${conv.builder.service_token}` } }).then((r) => r.json() as Promise<any>);
    expect(before.leads).toEqual([]);
    const queued = await s.app.internals.scheduler.tick(Date.now() + 5 * 60_000 + 1000);
    expect(queued).toBe(1);
    // Missed runs collapse: a second tick at the same moment queues nothing.
    expect(await s.app.internals.scheduler.tick(Date.now() + 5 * 60_000 + 1000)).toBe(0);
    let leads: any;
    for (let i = 0; i < 200; i++) {
      leads = await fetch(conv.builder.preview_url + "leads", { headers: { authorization: `Bearer ${conv.builder.service_token}` } }).then((r) => r.json() as Promise<any>);
      if (leads.leads.length) break;
      await Bun.sleep(50);
    }
    if (!leads.leads.length) console.error(JSON.stringify((await s.json(`/api/v1/builders/${conv.builder.uuid}/logs`)).body.data.runs, null, 1));
    expect(leads.leads).toEqual(crm.leads);
    expect(crm.requests.at(-1)!.authorization).toBe(`Bearer ${SECRET}`);
    const logs = await s.json(`/api/v1/builders/${conv.builder.uuid}/logs`);
    expect(logs.body.data.runs[0].status).toBe("completed");
  });

  test("an error rate over the threshold triggers one self-heal that deploys a passing fix", async () => {
    const agentId = conv.builder.uuid;
    const before = (await s.json(`/v1/agents/${agentId}`)).body.data.liveVersion;
    // 25 failed calls in the window, as the gateway would have logged them.
    const now = Date.now();
    for (let i = 0; i < 25; i++)
      s.app.internals.invocations.record({ agentId, version: before, keyId: null, source: "app", method: "GET", path: "/leads", status: 502, latencyMs: 3, errorCode: "endpoint_unreachable", requestId: `r${i}`, at: now - i * 1000 });
    expect(await s.app.internals.scheduler.monitor(now)).toEqual([uuid]);
    expect(await s.app.internals.scheduler.monitor(now + 1000)).toEqual([]); // cooldown: one heal at a time
    let c: any;
    for (let i = 0; i < 300; i++) {
      c = (await s.json(`/api/v1/builder-agents/${uuid}`)).body.data;
      if (c.history.some((h: any) => h.kind === "self_heal")) break;
      await Bun.sleep(50);
    }
    const healed = c.history.find((h: any) => h.kind === "self_heal");
    expect(healed.message).toContain("self-heal deployed a fix");
    expect(healed.data.evidence[0]).toContain("GET /leads → 502 endpoint_unreachable");
    expect(c.status).toBe("deployed");
    const after = (await s.json(`/v1/agents/${agentId}`)).body.data;
    expect(after.liveVersion).toBe(before + 1);
    expect(after.status).toBe("deployed");
    conv = c;
  });

  test("the credential never shows in responses, logs or the artifact", async () => {
    const agentId = conv.builder.uuid;
    const bodies = [
      await s.json(`/api/v1/builder-agents/${uuid}`),
      await s.json(`/api/v1/builders/${agentId}/logs`),
      await s.json(`/api/v1/builders/${agentId}/files`),
      await s.json(`/v1/agents/${agentId}/logs`),
      await s.json(`/v1/agents/${agentId}/versions/1`),
      await s.json(`/v1/agents/${agentId}/versions/2`),
    ].map((r) => JSON.stringify(r.body));
    for (const b of bodies) expect(b).not.toContain(SECRET);
    const tok = await s.json(`/v1/downloads/${agentId}/token`, { method: "POST" });
    const zip = new Uint8Array((await fetch(tok.body.data.files[0].url).then((r) => r.arrayBuffer())) as ArrayBuffer);
    expect(Buffer.from(zip).includes(Buffer.from(SECRET))).toBe(false);
    // Every row of every table, on either database: the credential is stored sealed only.
    const tables = [schema.workspaces, schema.platformTokens, schema.agents, schema.versions, schema.deployments, schema.jobs, schema.jobEvents, schema.apiKeys, schema.conversations, schema.secrets, schema.agentSecrets, schema.kv, schema.invocations, schema.agentLogs, schema.schedules];
    for (const table of tables) expect(JSON.stringify(await s.db.select().from(table as typeof schema.agents))).not.toContain(SECRET);
    // On SQLite, the file's bytes too (free pages included).
    if (testDialect === "sqlite") expect(readFileSync(join(s.dataDir, "cantrip.db")).includes(Buffer.from(SECRET))).toBe(false);
  });

  test("rebuild of a deployed app that fails validation leaves the old version live", async () => {
    crmModel({ code: () => "this does not compile {" });
    const r = await s.json(`/api/v1/builder-agents/${uuid}/rebuild`, { method: "POST", json: { message: "also expose GET /count" } });
    expect(r.status).toBe(202);
    // While processing, another rebuild is refused.
    const again = await s.json(`/api/v1/builder-agents/${uuid}/rebuild`, { method: "POST", json: { message: "x" } });
    expect(again.status).toBe(409);
    expect(again.body.error.details.state).toBe("processing");
    const done = await until(uuid, ["failed", "deployed", "gathering", "awaiting_approval"], 60_000);
    if (done.status === "awaiting_approval") {
      await s.json(`/api/v1/builder-agents/${uuid}/approve`, { method: "POST" });
    }
    const end = await until(uuid, ["failed", "deployed"], 60_000);
    expect(end.status).toBe("failed");
    // A background build failure carries its own job failure code, not an HTTP 400's invalid_request.
    expect(end.failure).toMatchObject({ code: "build_failed" });
    const agent = await s.json(`/v1/agents/${conv.builder.uuid}`);
    expect(agent.body.data.liveVersion).toBe(2); // the self-healed version, untouched by the failed rebuild
    const leads = await fetch(conv.builder.preview_url + "leads", { headers: { authorization: `Bearer ${conv.builder.service_token}` } });
    expect(leads.status).toBe(200);
  });
});

describe("flags", () => {
  test("skip_approval and skip_review go straight to deployed (no review, no QA)", async () => {
    crmModel();
    fake.respond((call) => {
      const kind = step(call);
      if (kind === "ask") return { json: { ready: true, message: "ok", asks: [], facts: {}, name: "Lead Scorer Fast" } };
      if (kind === "plan") return { json: leadSpec };
      if (kind === "code" || kind === "repair") return { content: "```ts\n" + leadCode + "\n```" };
      return undefined;
    });
    const callsBefore = fake.calls.length;
    const r = await s.json("/api/v1/builder-agents", {
      method: "POST",
      json: { prompt: "Score my inbound leads and list what is missing from each profile.", skip_approval: true, skip_review: true },
    });
    const c = await until(r.body.data.uuid, ["deployed", "failed"], 60_000);
    expect(c.status).toBe("deployed");
    expect(c.review_passed).toBeNull();
    expect(c.qa_passed).toBeNull();
    expect(fake.calls.slice(callsBefore).some((x) => step(x) === "review")).toBe(false);
  });

  test("a failed pre-deploy review fails the build with review_failed (not a 400's invalid_request); nothing is deployed", async () => {
    fake.respond((call) => {
      const kind = step(call);
      if (kind === "ask") return { json: { ready: true, message: "ok", asks: [], facts: {}, name: "Lead Scorer Reviewed" } };
      if (kind === "plan") return { json: leadSpec };
      if (kind === "code" || kind === "repair") return { content: "```ts\n" + leadCode + "\n```" };
      if (kind === "review") return { json: { passed: false, issues: [{ severity: "high", message: "logs the raw lead profile" }] } };
      return undefined;
    });
    const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "Score my inbound leads, reviewed.", skip_approval: true } });
    const c = await until(r.body.data.uuid, ["deployed", "failed"], 60_000);
    expect(c.status).toBe("failed");
    expect(c.review_passed).toBe(false);
    expect(c.failure).toMatchObject({ code: "review_failed" });
    expect(c.failure.message).toContain("logs the raw lead profile");
    const agent = await s.json(`/v1/agents/${c.builder?.uuid ?? c.agent_id}`);
    expect(agent.body.data.liveVersion).toBeNull();
  });

  test("unknown conversation is 404 conversation_not_found", async () => {
    const r = await s.json("/api/v1/builder-agents/00000000-0000-0000-0000-000000000000");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("conversation_not_found");
  });
});
