/**
 * Issue 13 §9: server-wide limit defaults and operator maxima (settings), per-agent limits
 * on `POST /v1/agents` and `PATCH /v1/agents/{id}` (400 invalid_request beyond the maxima),
 * shown on the agent and in the CLI, and taking effect for the very next call (live cache
 * and warm instances refreshed). Real server, real HTTP, real sandbox.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfig, ConfigError } from "../../src/config";
import { startServer, type TestServer } from "../harness";
import { cli, deployed, invoke } from "./helpers";

const OPERATOR = {
  CANTRIP_SANDBOX_CPU_MS: "800",
  CANTRIP_SANDBOX_MAX_CPU_MS: "2000",
  CANTRIP_SANDBOX_WALL_MS: "4000",
  CANTRIP_SANDBOX_MAX_WALL_MS: "5000",
  CANTRIP_SANDBOX_MAX_INSTANCE_MEMORY_MB: "128",
  CANTRIP_SANDBOX_RESPONSE_BYTES: "65536",
};

const slow = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: {
  "POST /": async (input) => {
    // Short timers in a row (a timer longer than the wall limit is the runtime's own business).
    for (let t = 0; t < (input.sleep ?? 0); t += 100) await new Promise((r) => setTimeout(r, 100));
    return { pad: "x".repeat(input.bytes ?? 0) };
  },
} });
`;

let s: TestServer;
beforeAll(async () => {
  s = await startServer(OPERATOR);
});
afterAll(() => s?.stop());

const count = async () => (await s.json("/v1/agents?limit=100")).body.data.length;
const create = (name: string, limits: unknown) => s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": slow }, entrypoint: "index.ts", limits } });

test("an agent without limits shows the server defaults; the settings' flags and variables are read", async () => {
  const r = await create("defaults", undefined);
  expect(r.status).toBe(201);
  expect(r.body.data.agent.limits).toMatchObject({ cpuMs: 800, wallMs: 4000, memoryMb: 64, responseBytes: 65536, logLines: 200, fetchPerCall: 20, timers: 1000 });
  expect(r.body.data.agent.limitOverrides).toEqual({});
  const flags = loadConfig({}, { "sandbox-cpu-ms": "1500", "sandbox-max-cpu-ms": "3000" });
  expect([flags.sandboxCpuMs, flags.sandboxMaxCpuMs]).toEqual([1500, 3000]);
  expect(() => loadConfig({ CANTRIP_SANDBOX_CPU_MS: "5000", CANTRIP_SANDBOX_MAX_CPU_MS: "2000" })).toThrow(ConfigError);
  expect(() => loadConfig({ CANTRIP_SANDBOX_CPU_MS: "5000", CANTRIP_SANDBOX_MAX_CPU_MS: "2000" })).toThrow(/CANTRIP_SANDBOX_CPU_MS \(5000\) is above CANTRIP_SANDBOX_MAX_CPU_MS \(2000\)/);
});

test("create refuses limits over the operator's maxima, unknown names and fractions (400, nothing created)", async () => {
  const before = await count();
  const cases: [unknown, string, string][] = [
    [{ cpuMs: 2001 }, "limits.cpuMs", "maximum"],
    [{ memoryMb: 256 }, "limits.memoryMb", "maximum"],
    [{ wallMs: 50 }, "limits.wallMs", "minimum"],
    [{ cpuMs: 1.5 }, "limits.cpuMs", "type"],
    [{ cpuMs: "fast" }, "limits.cpuMs", "type"],
    [{ concurrency: 100 }, "limits.concurrency", "unknown"],
    [[1, 2], "limits", "type"],
  ];
  for (const [limits, field, rule] of cases) {
    const r = await create(`bad-${field}-${rule}`, limits);
    expect([JSON.stringify(limits), r.status, r.body.error?.code]).toEqual([JSON.stringify(limits), 400, "invalid_request"]);
    expect(r.body.error.details).toContainEqual(expect.objectContaining({ field, rule }));
  }
  const two = await create("two-bad", { cpuMs: 99999, timers: 5000 });
  expect(two.body.error.details.map((d: { field: string }) => d.field)).toEqual(["limits.cpuMs", "limits.timers"]);
  expect(two.body.error.message).toContain("operator's maximum");
  expect(await count()).toBe(before);
});

test("limits set on create and changed by PATCH apply to the next call", async () => {
  const a = await deployed(s, "limited", slow, { limits: { wallMs: 300, responseBytes: 2048 } });
  const got = await s.json(`/v1/agents/${a.id}`);
  expect(got.body.data.limitOverrides).toEqual({ wallMs: 300, responseBytes: 2048 });
  expect(got.body.data.limits).toMatchObject({ wallMs: 300, responseBytes: 2048, cpuMs: 800 });

  // Within the limits: fine. Over the wall limit: 504. Over the response size: 502 bad_response (guest-values.ts).
  expect((await invoke(s.url, a.slug, a.key, { sleep: 10 })).status).toBe(200);
  const slowCall = await invoke(s.url, a.slug, a.key, { sleep: 800 });
  expect([slowCall.status, slowCall.body.error?.code]).toEqual([504, "endpoint_timeout"]);
  const big = await invoke(s.url, a.slug, a.key, { bytes: 4000 });
  expect([big.status, big.body.error?.code]).toEqual([502, "bad_response"]);

  // Raise both: the very next calls succeed (no redeploy, no restart).
  const p = await s.json(`/v1/agents/${a.id}`, { method: "PATCH", json: { limits: { wallMs: 2000, responseBytes: 8192 } } });
  expect(p.status).toBe(200);
  expect(p.body.data.limitOverrides).toEqual({ wallMs: 2000, responseBytes: 8192 });
  expect((await invoke(s.url, a.slug, a.key, { sleep: 800 })).status).toBe(200);
  expect((await invoke(s.url, a.slug, a.key, { bytes: 4000 })).status).toBe(200);

  // Lower again: the next call is held to it.
  await s.json(`/v1/agents/${a.id}`, { method: "PATCH", json: { limits: { wallMs: 300 } } });
  expect((await invoke(s.url, a.slug, a.key, { sleep: 800 })).status).toBe(504);

  // null puts one back to the server default (4000 ms).
  const reset = await s.json(`/v1/agents/${a.id}`, { method: "PATCH", json: { limits: { wallMs: null } } });
  expect(reset.body.data.limitOverrides).toEqual({ responseBytes: 8192 });
  expect(reset.body.data.limits.wallMs).toBe(4000);
  expect((await invoke(s.url, a.slug, a.key, { sleep: 800 })).status).toBe(200);
});

test("PATCH beyond a maximum is 400 and changes nothing; another workspace's agent is 404", async () => {
  const a = await create("patch-bad", { cpuMs: 1000 });
  const id = a.body.data.agent.id;
  const r = await s.json(`/v1/agents/${id}`, { method: "PATCH", json: { limits: { cpuMs: 1500, wallMs: 9000 } } });
  expect(r.status).toBe(400);
  expect(r.body.error.details).toEqual([expect.objectContaining({ field: "limits.wallMs", rule: "maximum" })]);
  expect((await s.json(`/v1/agents/${id}`)).body.data.limitOverrides).toEqual({ cpuMs: 1000 });
  expect((await s.json("/v1/agents/agent_0000000000000000000000", { method: "PATCH", json: { limits: {} } })).status).toBe(404);
  const other = (await cli(["workspace", "create", "other", "--data-dir", s.dataDir], s.dbEnv)).stdout.trim();
  const foreign = await s.json(`/v1/agents/${id}`, { method: "PATCH", json: { limits: { cpuMs: 10 } }, headers: { authorization: `Bearer ${other}` } });
  expect([foreign.status, foreign.body.error.code]).toEqual([404, "agent_not_found"]);
});

test("the CLI shows and sets limits (agents show, agents limits)", async () => {
  const a = await create("cli-limits", { cpuMs: 1200 });
  const env = { CANTRIP_URL: s.url, CANTRIP_TOKEN: s.token };
  const show = await cli(["agents", "show", a.body.data.agent.slug], env);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(/cpuMs\s+1200 ms\s+set on this agent/);
  expect(show.stdout).toMatch(/wallMs\s+4000 ms\s+server default/);
  const set = await cli(["agents", "limits", a.body.data.agent.slug, "--wall-ms", "4500", "--memory-mb", "96", "--reset", "cpu-ms"], env);
  expect(set.stderr).toBe("");
  expect(set.stdout).toMatch(/wallMs\s+4500 ms\s+set on this agent/);
  expect(set.stdout).toMatch(/cpuMs\s+800 ms\s+server default/);
  expect((await s.json(`/v1/agents/${a.body.data.agent.id}`)).body.data.limitOverrides).toEqual({ wallMs: 4500, memoryMb: 96 });
  const tooHigh = await cli(["agents", "limits", a.body.data.agent.slug, "--cpu-ms", "999999"], env);
  expect(tooHigh.code).toBe(3);
  expect(tooHigh.stderr).toContain("invalid_request");
});

test("an operator who lowers a maximum caps agents that were set higher before (after a restart)", async () => {
  const a = await deployed(s, "capped-later", slow, { limits: { wallMs: 5000 } });
  const dataDir = s.dataDir;
  await s.app.stop();
  s = await startServer({ ...OPERATOR, CANTRIP_SANDBOX_WALL_MS: "300", CANTRIP_SANDBOX_MAX_WALL_MS: "400" }, { dataDir });
  const got = await s.json(`/v1/agents/${a.id}`);
  expect(got.body.data.limitOverrides.wallMs).toBe(5000);
  expect(got.body.data.limits.wallMs).toBe(400);
  expect((await invoke(s.url, a.slug, a.key, { sleep: 800 })).status).toBe(504);
});
