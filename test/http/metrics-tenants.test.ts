/**
 * /metrics covers every tenant: the invoke series are labelled with agent slugs and carry
 * each agent's call counts and outcomes. Another workspace's platform token used to scrape
 * it too, learning the other tenants' slugs and traffic (threat model, promise 6); now it
 * gets 403 forbidden, as for backups, and the operator's token and the metrics token still
 * scrape.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { trivialBackend } from "../../bench/lib/backends";
import { createWorkspace } from "../../src/auth";
import { startServer, type TestServer } from "../harness";
import { deploy, invoke, type Target } from "../reliability/host-helpers";

const METRICS_TOKEN = "scrape-" + "y".repeat(24);
let s: TestServer;
let t: Target;
let secretSlug: string;
let tenantToken: string;

beforeAll(async () => {
  s = await startServer({ CANTRIP_METRICS_TOKEN: METRICS_TOKEN });
  t = { url: s.url, token: s.token };
  const a = await deploy(t, "operator confidential launch", trivialBackend(1));
  secretSlug = a.slug;
  expect((await invoke(t, a.slug, a.key, { n: 1 })).status).toBe(200);
  tenantToken = (await createWorkspace(s.db, "tenant-b")).token.token;
});
afterAll(() => s.stop());

const scrape = async (token: string) => {
  const res = await fetch(s.url + "/metrics", { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
};

test("another workspace's platform token gets 403 forbidden and no series", async () => {
  const r = await scrape(tenantToken);
  expect(r.status).toBe(403);
  expect(JSON.parse(r.text).error.code).toBe("forbidden");
  expect(r.text).not.toContain(secretSlug);
  // The tenant's token itself is valid: its own control routes answer.
  expect((await fetch(s.url + "/v1/agents", { headers: { authorization: `Bearer ${tenantToken}` } })).status).toBe(200);
});

test("the operator's platform token and the metrics token still scrape", async () => {
  for (const token of [s.token, METRICS_TOKEN]) {
    const r = await scrape(token);
    expect(r.status).toBe(200);
    expect(r.text).toContain(`agent="${secretSlug}"`);
  }
});
