/**
 * POST /v1/generate end to end, over real HTTP, with the fake OpenAI-compatible model:
 * the seed example goes queued → running → completed and is invoked; each failure script
 * ends in the right state with a useful failure and log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall, type Step } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { leadSpec } from "../fixtures/lead-spec";
import { brokenSyntax, leadCode, wrongBehavior } from "../fixtures/lead-code";

const SEED = "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.";
const fenced = (code: string): Step => ({ content: "Here is the module:\n```ts\n" + code + "\n```\n" });
const stepOf = (c: RecordedCall) => (/\[cantrip:(\w+)\]/.exec(c.system)?.[1] ?? "unknown");

let fake: FakeOpenAI;
let s: TestServer;

/** Answers plan/code/repair calls; `code` and `repair` may be queues consumed in order. */
function script(opts: { plan?: Step[]; code?: Step[]; repair?: Step[] } = {}) {
  const queues = { plan: [...(opts.plan ?? [])], code: [...(opts.code ?? [])], repair: [...(opts.repair ?? [])] };
  fake.respond((call) => {
    const step = stepOf(call) as keyof typeof queues;
    const q = queues[step];
    if (q?.length) return q.shift();
    if (step === "plan") return { json: leadSpec };
    return fenced(leadCode);
  });
}

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MODEL_TIMEOUT_MS: "1000", CANTRIP_JOB_CONCURRENCY: "3" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

async function generate(name: string, autoDeploy = true) {
  const r = await s.json("/v1/generate", { method: "POST", json: { name, prompt: SEED, autoDeploy } });
  expect(r.status).toBe(202);
  return r.body.data as { agent: { id: string; slug: string }; job: { id: string } };
}

async function waitJob(jobId: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  const seen: number[] = [];
  for (;;) {
    const r = await s.json(`/v1/generate/${jobId}`);
    seen.push(r.body.data.progress);
    if (["completed", "failed", "cancelled"].includes(r.body.data.status)) return { job: r.body.data, progress: seen };
    if (Date.now() > until) throw new Error(`job ${jobId} still ${r.body.data.status}`);
    await Bun.sleep(30);
  }
}

describe("the seed example", () => {
  test("queued → running → completed, deployed, invoked with a key", async () => {
    script();
    const { agent, job } = await generate("Lead Qualification API");
    expect(agent.slug).toBe("lead-qualification-api");
    const { job: done, progress } = await waitJob(job.id);
    expect(done.status).toBe("completed");
    expect(done.progress).toBe(100);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
    expect(done.artifact).toMatchObject({ version: 1, entrypoint: "backend.ts" });
    expect(done.validation).toMatchObject({ ok: true, failed: 0 });
    expect(done.logs.some((l: any) => /model call \(plan\): fake-coder/.test(l.message))).toBe(true);
    const a = await s.json(`/v1/agents/${agent.id}`);
    expect(a.body.data.status).toBe("deployed");
    const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "t" } })).body.data.key;
    const inv = await fetch(`${s.url}/v1/invoke/${agent.slug}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Bob" }),
    }).then((r) => r.json() as Promise<any>);
    expect(inv.data.status).toBe(200);
    expect(inv.data.response.fit).toBe("low");
    expect(inv.data.response.missingFields).toEqual(["email", "company", "title", "employees", "budget"]);
    // The stored version carries the spec, the report and the transcript summary.
    const v = await s.json(`/v1/agents/${agent.id}/versions/1`);
    expect(v.body.data.spec.name).toBe("Lead Qualification API");
    expect(v.body.data.validation.ok).toBe(true);
    expect(v.body.data.source["backend.ts"]).toContain("defineBackend");
  });

  test("the event stream replays with Last-Event-ID and ends with done", async () => {
    script();
    const { job } = await generate("Streamed Leads", false);
    await waitJob(job.id);
    const tok = await s.json(`/v1/generate/${job.id}/stream-token`, { method: "POST" });
    const text = await fetch(tok.body.data.url).then((r) => r.text());
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(text).toContain("event: progress");
    expect(text).toContain("event: done");
    const mid = ids[Math.floor(ids.length / 2)]!;
    const rest = await fetch(`${s.url}/v1/generate/${job.id}/stream`, { headers: { authorization: `Bearer ${s.token}`, "last-event-id": String(mid) } }).then((r) => r.text());
    const restIds = [...rest.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(restIds).toEqual(ids.filter((i) => i > mid));
    const bad = await fetch(`${s.url}/v1/generate/${job.id}/stream?token=nope`);
    expect(bad.status).toBe(401);
  });

  test("the artifact downloads as zip and tar.gz with a token", async () => {
    const list = await s.json("/v1/agents/by-slug/lead-qualification-api");
    const t = await s.json(`/v1/downloads/${list.body.data.id}/token`, { method: "POST" });
    for (const f of t.body.data.files) {
      const r = await fetch(f.url);
      expect(r.status).toBe(200);
      const bytes = new Uint8Array(await r.arrayBuffer());
      expect(bytes.length).toBeGreaterThan(500);
      if (f.filename.endsWith(".zip")) expect([bytes[0], bytes[1]]).toEqual([0x50, 0x4b]);
      else expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    }
    const noToken = await fetch(t.body.data.files[0].url.replace(/\?token=.*/, ""));
    expect(noToken.status).toBe(401);
  });
});

describe("failure scripts", () => {
  test("invalid JSON plan is re-asked and recovers", async () => {
    script({ plan: [{ content: "{ this is not json" }] });
    const { job } = await generate("Bad Json Then Good");
    expect((await waitJob(job.id)).job.status).toBe("completed");
  });

  test("a plan missing required fields is re-asked with the errors", async () => {
    const { examples, ...noExamples } = leadSpec;
    script({ plan: [{ json: noExamples }] });
    const { job } = await generate("Missing Fields Then Good");
    expect((await waitJob(job.id)).job.status).toBe("completed");
    const reask = fake.calls.filter((c) => stepOf(c) === "plan").at(-1)!;
    expect(reask.messages.map((m) => m.content).join("\n")).toContain("examples");
  });

  test("code that does not compile is repaired with the diagnostics", async () => {
    script({ code: [fenced(brokenSyntax)] });
    const before = fake.calls.length;
    const { job } = await generate("Compile Repair");
    const { job: done } = await waitJob(job.id);
    expect(done.status).toBe("completed");
    expect(done.validation.repairs).toBe(1);
    const repair = fake.calls.slice(before).find((c) => stepOf(c) === "repair")!;
    expect(repair.lastUser).toMatch(/backend\.ts:\d+:\d+/);
  });

  test("code that fails its examples is fixed on the next attempt", async () => {
    script({ code: [fenced(wrongBehavior)] });
    const before = fake.calls.length;
    const { job } = await generate("Example Repair");
    const { job: done } = await waitJob(job.id);
    expect(done.status).toBe("completed");
    const repair = fake.calls.slice(before).find((c) => stepOf(c) === "repair")!;
    expect(repair.lastUser).toContain("fit should equal \"low\"");
  });

  test("code that never passes ends failed with the report", async () => {
    script({ code: [fenced(wrongBehavior)], repair: [fenced(wrongBehavior), fenced(wrongBehavior), fenced(wrongBehavior)] });
    const { agent, job } = await generate("Never Passes");
    const { job: done } = await waitJob(job.id);
    expect(done.status).toBe("failed");
    expect(done.failure).toMatchObject({ code: "validation_failed", stage: "validate" });
    const a = await s.json(`/v1/agents/${agent.id}`);
    expect(a.body.data.status).toBe("failed");
    expect(a.body.data.failure.report.failed).toBeGreaterThan(0);
  });

  test("a 429 then success", async () => {
    script({ plan: [{ status: 429, retryAfter: 0.1 }] });
    const { job } = await generate("Rate Limited Once");
    const { job: done } = await waitJob(job.id);
    expect(done.status).toBe("completed");
    expect(done.logs.some((l: any) => l.level === "warn" && /model call \(plan\)/.test(l.message))).toBe(true);
  });

  test("a model that hangs past the timeout fails the job with model_unavailable", async () => {
    script({ plan: [{ hang: true }, { hang: true }, { hang: true }] });
    const { agent, job } = await generate("Hanging Model");
    const { job: done } = await waitJob(job.id, 20_000);
    expect(done.status).toBe("failed");
    expect(done.failure.code).toBe("model_unavailable");
    expect((await s.json(`/v1/agents/${agent.id}`)).body.data.status).toBe("failed");
  });

  test("a job can be cancelled", async () => {
    script({ plan: [{ json: leadSpec, delayMs: 3000 }] });
    const { job } = await generate("Cancel Me");
    await Bun.sleep(200);
    const c = await s.json(`/v1/generate/${job.id}/cancel`, { method: "POST" });
    expect(c.status).toBe(200);
    const { job: done } = await waitJob(job.id);
    expect(done.status).toBe("cancelled");
    const again = await s.json(`/v1/generate/${job.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
  });

  test("validation of the request", async () => {
    const r = await s.json("/v1/generate", { method: "POST", json: { name: "x", prompt: "short" } });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: any) => d.field).sort()).toEqual(["name", "prompt"]);
    const nf = await s.json("/v1/generate/job_doesnotexist");
    expect(nf.body.error.code).toBe("job_not_found");
  });
});

test("20 concurrent generations all finish with concurrency 3 respected", async () => {
  let inflight = 0;
  let peak = 0;
  fake.respond(undefined);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      // A counting proxy in front of the fake model: each generation job makes its model
      // calls one at a time, so in-flight model calls bound the number of running jobs.
      inflight++;
      peak = Math.max(peak, inflight);
      await Bun.sleep(20);
      try {
        const url = new URL(req.url);
        return await fetch(fake.url.replace(/\/v1$/, "") + url.pathname, { method: req.method, headers: req.headers, body: await req.text() });
      } finally {
        inflight--;
      }
    },
  });
  script();
  const s2 = await startServer({ OPENAI_BASE_URL: `http://127.0.0.1:${server.port}/v1`, CANTRIP_JOB_CONCURRENCY: "3" });
  try {
    const jobs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s2.json("/v1/generate", { method: "POST", json: { name: `Concurrent ${i}`, prompt: SEED } }).then((r) => r.body.data.job.id as string)),
    );
    for (const id of jobs) {
      for (;;) {
        const r = await s2.json(`/v1/generate/${id}`);
        if (r.body.data.status === "completed") break;
        if (!["queued", "running"].includes(r.body.data.status)) throw new Error(`job ${id} ${r.body.data.status}: ${JSON.stringify(r.body.data.failure)}`);
        await Bun.sleep(50);
      }
    }
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  } finally {
    await s2.stop();
    server.stop(true);
  }
}, 120_000);

test("without a model provider: 503 model_not_configured naming the variables", async () => {
  const s3 = await startServer();
  const r = await s3.json("/v1/generate", { method: "POST", json: { name: "No Model", prompt: SEED } });
  expect(r.status).toBe(503);
  expect(r.body.error.code).toBe("model_not_configured");
  expect(r.body.error.message).toContain("OPENAI_BASE_URL");
  await s3.stop();
});
