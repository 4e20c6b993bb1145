/**
 * GET /metrics over real HTTP: who may scrape it, and that the series move as known
 * traffic says they must (HTTP by family and status, invoke latency by agent with its
 * label cap, jobs, model calls, sandbox and database gauges, process metrics).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { echoBackend } from "../fixtures/backends";
import { startServer, type TestServer } from "../harness";

let s: TestServer;
let fake: FakeOpenAI;
const METRICS_TOKEN = "scrape-" + "x".repeat(24);

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ CANTRIP_METRICS_TOKEN: METRICS_TOKEN, CANTRIP_METRICS_AGENT_LABELS: "1", OPENAI_BASE_URL: fake.url });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

async function deployed(name: string) {
  const up = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": echoBackend }, entrypoint: "index.ts", autoDeploy: true } });
  expect(up.status).toBe(201);
  const agent = up.body.data.agent;
  for (let i = 0; i < 200 && (await s.json(`/v1/agents/${agent.id}`)).body.data.status !== "deployed"; i++) await Bun.sleep(25);
  const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "m" } })).body.data.key as string;
  return { slug: agent.slug as string, key };
}

/** The value of one series in the exposition text (0 when absent). */
function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const scrape = async (authorization = `Bearer ${METRICS_TOKEN}`) => {
  const r = await fetch(`${s.url}/metrics`, { headers: { authorization } });
  return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
};

test("scraping needs the metrics token or a platform token", async () => {
  expect((await scrape("")).status).toBe(401);
  expect((await scrape("Bearer wrong-token-of-some-length")).status).toBe(401);
  const ok = await scrape();
  expect(ok.status).toBe(200);
  expect(ok.type).toContain("text/plain");
  expect((await scrape(`Bearer ${s.token}`)).status).toBe(200);
});

test("counters move with known traffic; agent labels are capped", async () => {
  const a = await deployed("Metrics One");
  const b = await deployed("Metrics Two");
  const before = (await scrape()).text;
  const call = (slug: string, key: string) => fetch(`${s.url}/v1/invoke/${slug}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
  for (let i = 0; i < 5; i++) expect((await call(a.slug, a.key)).status).toBe(200);
  for (let i = 0; i < 3; i++) expect((await call(b.slug, b.key)).status).toBe(200);
  expect((await call(a.slug, "ctp_ak_bogus")).status).toBe(401);
  const after = (await scrape()).text;
  const delta = (series: string) => value(after, series) - value(before, series);
  expect(delta('cantrip_http_requests_total{family="invoke",status="200"}')).toBe(8);
  expect(delta('cantrip_http_requests_total{family="invoke",status="401"}')).toBe(1);
  // CANTRIP_METRICS_AGENT_LABELS=1: the first agent called keeps its slug, later ones are "other".
  expect(delta(`cantrip_invoke_duration_seconds_count{agent="${a.slug}",source="invoke",outcome="ok"}`)).toBe(5);
  expect(delta('cantrip_invoke_duration_seconds_count{agent="other",source="invoke",outcome="ok"}')).toBe(3);
  expect(after).not.toContain(`agent="${b.slug}"`);
  expect(value(after, 'cantrip_job_duration_seconds_count{kind="deploy",outcome="completed"}')).toBeGreaterThanOrEqual(2);
  expect(value(after, "cantrip_sandbox_instances")).toBeGreaterThanOrEqual(1);
  expect(value(after, "cantrip_sandbox_memory_budget_bytes")).toBeGreaterThan(0);
  expect(value(after, "cantrip_database_size_bytes")).toBeGreaterThan(0);
  expect(value(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
  expect(after).toContain("nodejs_eventloop_lag_seconds");
});

test("model calls are counted by model and outcome, with tokens", async () => {
  fake.script({ status: 500 }, { content: "ok", usage: { prompt_tokens: 11, completion_tokens: 7 } });
  const r = await s.json("/v1/generate", { method: "POST", json: { name: "Metered", prompt: "An API that echoes its input back to the caller." } });
  expect(r.status).toBe(202);
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = (await scrape()).text;
    if (value(text, 'cantrip_model_calls_total{model="gpt-4.1-mini",outcome="ok"}') >= 1) break;
    await Bun.sleep(50);
  }
  expect(value(text, 'cantrip_model_calls_total{model="gpt-4.1-mini",outcome="error"}')).toBeGreaterThanOrEqual(1);
  expect(value(text, 'cantrip_model_calls_total{model="gpt-4.1-mini",outcome="ok"}')).toBeGreaterThanOrEqual(1);
  expect(value(text, 'cantrip_model_tokens_total{model="gpt-4.1-mini",direction="prompt"}')).toBeGreaterThanOrEqual(11);
});

test("egress refusals, and the scheduler's and watchdog's counters, are exported", async () => {
  const fetcher = `
import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": async () => {
  try { await fetch("https://not-declared.example/"); return { ok: true }; } catch (e) { return { refused: String(e) }; }
} } });
`;
  const up = await s.json("/v1/agents", { method: "POST", json: { name: "Metrics Fetcher", files: { "index.ts": fetcher }, entrypoint: "index.ts", autoDeploy: true } });
  const agent = up.body.data.agent;
  for (let i = 0; i < 200 && (await s.json(`/v1/agents/${agent.id}`)).body.data.status !== "deployed"; i++) await Bun.sleep(25);
  const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "m" } })).body.data.key as string;
  const before = (await scrape()).text;
  const r = await fetch(`${s.url}/v1/invoke/${agent.slug}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
  expect(((await r.json()) as any).data.response.refused).toContain("not in this agent's allowed hosts");
  const after = (await scrape()).text;
  expect(value(after, 'cantrip_egress_requests_total{outcome="refused"}') - value(before, 'cantrip_egress_requests_total{outcome="refused"}')).toBe(1);
  expect(after).toMatch(/^cantrip_sandbox_calls_refused \d+$/m);
  expect(after).toMatch(/^cantrip_sandbox_watchdog_kills \d+$/m);
  expect(after).toMatch(/^cantrip_sandbox_zombie_threads 0$/m);
  expect(after).toMatch(/^cantrip_sandbox_calls_queued \d+$/m);
});
