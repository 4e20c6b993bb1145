/**
 * Issue 12 §3: every error's HTTP status is the one its code has in the catalogue, and no
 * answer is ever 422. Walks src/errors/catalogue.ts: each code is either provoked over real
 * HTTP (real server, sandbox, esbuild; no model configured) and checked for its status and
 * envelope, or listed with the reason it cannot be provoked from outside. A code added to the
 * catalogue without either fails the walk.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { slowLoadBackend, trivialBackend } from "../../bench/lib/backends";
import { createWorkspace } from "../../src/auth";
import { catalogue, type ErrorCode } from "../../src/errors";
import { startServer, type TestServer } from "../harness";
import { call, deploy, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
let live: { id: string; slug: string; key: string };
let other: { id: string; slug: string; key: string };
let undeployed: { id: string; slug: string; key: string };
let pub: { id: string; slug: string };

const NO_AGENT = "agent_0000000000000000000000";

beforeAll(async () => {
  s = await startServer({ CANTRIP_BODY_LIMIT: "65536", CANTRIP_RATE_LIMIT_ANON_CLIENT: "1", CANTRIP_RATE_LIMIT_ANON_AGENT: "0" });
  t = { url: s.url, token: s.token };
  live = await deploy(t, "live", trivialBackend(1));
  other = await deploy(t, "other", trivialBackend(2));
  const up = await call(t, "POST", "/v1/agents", { name: "undeployed", files: { "index.ts": trivialBackend(3) }, entrypoint: "index.ts" });
  const key = (await call(t, "POST", `/v1/agents/${up.body.data.agent.id}/api-keys`, { name: "k" })).body.data.key;
  undeployed = { id: up.body.data.agent.id, slug: up.body.data.agent.slug, key };
  const p = await deploy(t, "public", trivialBackend(4), { public: true });
  pub = { id: p.id, slug: p.slug };
});
afterAll(() => s.stop());

const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
const invokeWith = (slug: string, headers: Record<string, string>) => call(t, "POST", `/v1/invoke/${slug}`, {}, headers);

/** One request (or a short sequence whose last answer counts) per code. */
const provoke: Partial<Record<ErrorCode, () => Promise<{ status: number; body: any }>>> = {
  invalid_request: () => call(t, "POST", "/v1/agents", {}),
  invalid_json: () => call(t, "POST", "/v1/agents", '{"name":'),
  build_failed: () => call(t, "POST", "/v1/agents", { name: "broken", files: { "index.ts": "export default {" }, entrypoint: "index.ts" }),
  unauthorized: () => call(t, "GET", "/v1/agents", undefined, { authorization: "" }),
  missing_agent_api_key: () => invokeWith(live.slug, { authorization: "" }),
  malformed_agent_api_key: () => invokeWith(live.slug, bearer("nope")),
  invalid_agent_api_key: () => invokeWith(live.slug, bearer("ctp_ak_" + "A".repeat(32))),
  agent_api_key_revoked: async () => {
    const k = (await call(t, "POST", `/v1/agents/${live.id}/api-keys`, { name: "revoked" })).body.data;
    await call(t, "POST", `/v1/agents/${live.id}/api-keys/${k.apiKey.id}/revoke`);
    return invokeWith(live.slug, bearer(k.key));
  },
  invalid_stream_token: () => call(t, "GET", `/v1/downloads/${live.id}/live-v1.zip?token=forged`),
  agent_api_key_scope_mismatch: () => invokeWith(live.slug, bearer(other.key)),
  not_found: () => call(t, "GET", "/v1/no-such-route"),
  agent_not_found: () => call(t, "GET", `/v1/agents/${NO_AGENT}`),
  job_not_found: () => call(t, "GET", "/v1/generate/job_0000000000000000000000"),
  key_not_found: () => call(t, "POST", `/v1/agents/${live.id}/api-keys/key_0000000000000000000000/revoke`),
  conversation_not_found: () => call(t, "GET", "/api/v1/builder-agents/00000000-0000-4000-8000-000000000000"),
  version_not_found: () => call(t, "GET", `/v1/agents/${live.id}/versions/99`),
  credential_not_found: () => call(t, "DELETE", "/api/v1/credentials/cred_0000000000000000000000"),
  file_not_found: async () => {
    const token = (await call(t, "POST", `/v1/downloads/${live.id}/token`)).body.data.token;
    return call(t, "GET", `/v1/downloads/${live.id}/not-this-file.zip?token=${encodeURIComponent(token)}`);
  },
  endpoint_not_available: () => call(t, "GET", `/v1/deploy/${undeployed.id}/endpoint`),
  deploy_in_progress: async () => {
    const slow = await call(t, "POST", "/v1/agents", { name: "slow", files: { "index.ts": slowLoadBackend(1, 600) }, entrypoint: "index.ts" });
    if (slow.status !== 201) throw new Error(JSON.stringify(slow.body));
    await call(t, "POST", `/v1/deploy/${slow.body.data.agent.id}`, {});
    return call(t, "POST", `/v1/deploy/${slow.body.data.agent.id}`, {});
  },
  not_deployed: () => invokeWith(undeployed.slug, bearer(undeployed.key)),
  conflict: async () => {
    const cred = { name: "DUP_TOKEN", value: "v", hosts: ["example.com"] };
    await call(t, "POST", "/api/v1/credentials", cred);
    return call(t, "POST", "/api/v1/credentials", cred);
  },
  job_not_cancellable: async () => {
    const d = await call(t, "POST", `/v1/deploy/${other.id}`, {});
    // The job itself must have finished: the deployment row is settled before the job's own
    // row (on PostgreSQL another transaction can run between the two).
    const jobId = d.body.data.jobId;
    for (let i = 0; i < 400 && !["completed", "failed", "cancelled"].includes((await call(t, "GET", `/v1/generate/${jobId}`)).body.data.status); i++) await Bun.sleep(25);
    return call(t, "POST", `/v1/generate/${jobId}/cancel`);
  },
  payload_too_large: () => call(t, "POST", "/v1/agents", { name: "big", files: { "index.ts": "x".repeat(70_000) }, entrypoint: "index.ts" }),
  unsupported_media_type: () => call(t, "POST", "/v1/agents", "name=x", { "content-type": "text/plain" }),
  rate_limited: async () => {
    let last = { status: 0, body: null as any };
    // 1 request/s, burst 2: the third in a row is refused unless the machine is so slow
    // that the calls refill the bucket as fast as they drain it; keep calling until then.
    for (let i = 0; i < 12 && last.status !== 429; i++) last = await call(t, "POST", `/apps/${pub.slug}/`, {}, { authorization: "" });
    return last;
  },
  endpoint_unreachable: async () => {
    const a = await deploy(t, "memory-bomb", `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async () => { const a = new Uint8Array(512 << 20); return { n: a.length }; } } } });`, { limits: { memoryMb: 16 } });
    return invokeWith(a.slug, bearer(a.key));
  },
  endpoint_timeout: async () => {
    const a = await deploy(t, "spinner", `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async () => { for (;;) {} } } } });`, { limits: { cpuMs: 100 } });
    return invokeWith(a.slug, bearer(a.key));
  },
  csrf_failed: async () => {
    // A dashboard session cookie sent without its X-CSRF-Token header.
    const signIn = await call(t, "POST", "/v1/session", { token: t.token }, { authorization: "" });
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
    return call(t, "GET", "/v1/agents", undefined, { authorization: "", cookie });
  },
  forbidden: async () => {
    // A second tenant, made the way an operator makes one (`cantrip workspace create`), asks for a backup.
    const { token } = await createWorkspace(s.db, "tenant-b");
    return await call({ url: t.url, token: token.token }, "POST", "/v1/admin/backup");
  },
  bad_response: async () => {
    const a = await deploy(t, "nan-status", `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": () => {
  const r = new Response("{}", { headers: { "content-type": "application/json" } });
  Object.defineProperty(r, "status", { value: NaN });
  return r;
} } });`);
    return invokeWith(a.slug, bearer(a.key));
  },
  model_not_configured: () => call(t, "POST", "/v1/generate", { name: "gen", prompt: "an API that says hello to whoever calls it" }),
};

/** Codes no outside request can produce on this server, and why. */
const notProvokable: Partial<Record<ErrorCode, string>> = {
  internal_error: "only an unexpected bug produces it (the handler logs it with the request id)",
  backup_not_supported: "answers only on a server that keeps its data in PostgreSQL; covered by test/ops/postgres-cli.test.ts",
  method_not_allowed: "unused: a wrong method on a known path answers not_found",
  quota_exceeded: "reserved: no route raises it yet",
  agent_not_ready: "needs an agent mid-generation; covered by the generation e2e tests with the fake model",
  invalid_state: "needs a builder conversation, which needs a model; covered by test/e2e/builder.test.ts",
  sandbox_memory_exhausted: "needs the whole sandbox memory budget held by concurrent calls; covered by test/runtime/memory-cap.test.ts",
  agent_limit_reached: "needs a server started with a small CANTRIP_WORKSPACE_MAX_AGENTS (this walk creates agents in several provokes); covered by test/http/agent-limit.test.ts",
  key_limit_reached: "needs a server started with a small CANTRIP_AGENT_MAX_KEYS (this walk creates keys in several provokes); covered by test/http/key-limit.test.ts",
  sandbox_busy: "needs the sandbox's capacity taken by concurrent calls; covered by test/runtime/scheduling.test.ts",
  model_unavailable: "model calls run inside jobs, so their failures land in the job, not in an HTTP answer",
  model_output_invalid: "model calls run inside jobs, so their failures land in the job, not in an HTTP answer",
  model_output_truncated: "model calls run inside jobs, so their failures land in the job, not in an HTTP answer",
  model_output_filtered: "model calls run inside jobs, so their failures land in the job, not in an HTTP answer",
};

test("every catalogue code is provoked or explained", () => {
  const covered = new Set([...Object.keys(provoke), ...Object.keys(notProvokable)]);
  expect(Object.keys(catalogue).filter((c) => !covered.has(c))).toEqual([]);
});

for (const code of Object.keys(catalogue) as ErrorCode[]) {
  const run = provoke[code];
  if (!run) continue;
  test(`${code} answers ${catalogue[code].status} in its envelope`, async () => {
    const r = await run();
    expect({ code: r.body?.error?.code, status: r.status }).toEqual({ code, status: catalogue[code].status });
    expect(typeof r.body.error.message).toBe("string");
    expect(r.body.error.requestId).toMatch(/\S/);
  });
}

test("validation failures of every shape answer 400, never Elysia's 422", async () => {
  const shapes: [string, string, unknown][] = [
    ["POST", "/v1/agents", { name: 5, files: "no", entrypoint: [] }],
    ["POST", "/v1/agents", "[[[[[[[[[[]]]]]]]]]]"],
    ["POST", `/v1/agents/${live.id}/api-keys`, { name: { deep: [1, 2, { x: null }] } }],
    ["POST", "/api/v1/credentials", { name: "1bad", value: "", hosts: [] }],
    ["GET", "/v1/agents?limit=abc", undefined],
    ["POST", `/v1/deploy/${live.id}`, { version: "one" }],
  ];
  for (const [method, path, body] of shapes) {
    const r = await call(t, method, path, body);
    expect(r.status).not.toBe(422);
    expect(r.status).toBe(catalogue[r.body.error.code as ErrorCode].status);
  }
});
