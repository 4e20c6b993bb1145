/**
 * Threat model promise 3 for the sandbox's shared resources: one workspace's calls that
 * merely wait on a timer cannot hold the whole memory budget or every lane slot. Each
 * workspace reserves at most CANTRIP_SANDBOX_WORKSPACE_SHARE of the budget (beyond its
 * first instance) and of each lane; another workspace's call runs at once. On the old code
 * the fourth sleeper ran and the other workspace's call failed with memory_budget.
 */
import { afterEach, expect, test } from "bun:test";
import { quickjsEngine, type EngineFactory } from "../../src/runtime";
import { probeV8, v8Engine } from "../../src/runtime/v8";
import { bundle, failureOf, json, makeHarness, req, type Harness } from "./harness";

const SLEEP = `import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /sleep": { input: t.Object({ ms: t.Number() }), handle: async ({ ms }) => { await new Promise((r) => setTimeout(r, ms)); return { slept: ms }; } },
  "GET /ok": () => ({ ok: true }),
} });`;

const MB = 1024 * 1024;
let H: Harness | undefined;
afterEach(async () => {
  await H?.close();
  H = undefined;
});

const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
const engines: [string, EngineFactory | null][] = [
  ["quickjs", quickjsEngine],
  ["v8", probe.ok ? v8Engine({ node: probe.runtime.node }) : null],
];

test.each(engines)("%s: a workspace's waiting calls reserve at most its share of the memory budget; another workspace's call still runs", async (name, engine) => {
  if (!engine) return console.warn(`[workspace-share] v8 variant SKIPPED: ${probe.ok ? "" : probe.error}`);
  // Budget: four 32 MB instances; share 75 % → 96 MB, three busy instances per workspace.
  H = makeHarness(engine, {}, { memoryBudgetBytes: 4 * 32 * MB, scheduling: { workspaceShare: 0.75 } });
  const code = await bundle(SLEEP);
  const limits = { memoryBytes: 32 * MB, wallMs: 10_000 };
  const sleepers = [0, 1, 2, 3].map((i) => H!.ref(`sleeper${i}`, code, { limits, workspaceId: "ws-a" }));
  const bystander = H.ref("bystander", code, { limits, workspaceId: "ws-b" });
  // Warm every agent once (first calls end probation); then idle instances cost only their heap.
  for (const r of [...sleepers, bystander]) expect(json(await H.runtime.fetch(r, req("GET", "/ok")))).toEqual({ ok: true });

  const calls = sleepers.map((r) => H!.runtime.fetch(r, req("POST", "/sleep", { ms: 2500 })).then((x) => `${x.status}`, (e: { details?: { reason?: string } }) => e.details?.reason ?? String(e)));
  await Bun.sleep(300);
  const t0 = performance.now();
  expect(json(await H.runtime.fetch(bystander, req("GET", "/ok")))).toEqual({ ok: true });
  expect(performance.now() - t0).toBeLessThan(900); // no memory wait (MEMORY_WAIT_MS is 1 s)
  expect((await Promise.all(calls)).sort()).toEqual(["200", "200", "200", "memory_budget"]);
});

test("the refusal names the workspace's share; a workspace may always hold one instance, even one larger than its share", async () => {
  H = makeHarness(quickjsEngine, {}, { memoryBudgetBytes: 2 * 48 * MB, scheduling: { workspaceShare: 0.25 } });
  const code = await bundle(SLEEP);
  const limits = { memoryBytes: 48 * MB, wallMs: 10_000 };
  const a1 = H.ref("a1", code, { limits, workspaceId: "ws-a" });
  const a2 = H.ref("a2", code, { limits, workspaceId: "ws-a" });
  for (const r of [a1, a2]) await H.runtime.fetch(r, req("GET", "/ok"));
  // 48 MB is above the 24 MB share: the first busy instance is allowed, the second is not.
  const long = H.runtime.fetch(a1, req("POST", "/sleep", { ms: 2000 }));
  await Bun.sleep(200);
  const f = await failureOf(() => H!.runtime.fetch(a2, req("POST", "/sleep", { ms: 10 })));
  expect([f.code, f.reason]).toEqual(["sandbox_memory_exhausted", "memory_budget"]);
  expect(f.message).toContain("one workspace may reserve at most");
  expect(f.ms).toBeGreaterThanOrEqual(900);
  expect((await long).status).toBe(200);
});

test("one workspace's waiting calls leave light-lane slots for another workspace", async () => {
  // One light worker, 32 slots; share 50 % → 16 per workspace.
  H = makeHarness(quickjsEngine, {}, { scheduling: { workspaceShare: 0.5, queueWaitMs: 500 } });
  const code = await bundle(SLEEP);
  const sleepers = [0, 1, 2, 3].map((i) => H!.ref(`lane${i}`, code, { workspaceId: "ws-a", limits: { wallMs: 10_000 } }));
  const bystander = H.ref("lane-bystander", code, { workspaceId: "ws-b" });
  for (const r of [...sleepers, bystander]) await H.runtime.fetch(r, req("GET", "/ok"));
  const calls = sleepers.flatMap((r) => Array.from({ length: 8 }, () => H!.runtime.fetch(r, req("POST", "/sleep", { ms: 1500 })).then((x) => `${x.status}`, (e: { code?: string }) => e.code ?? String(e))));
  await Bun.sleep(200);
  expect(H.runtime.stats().lanes.light).toEqual({ active: 16, queued: 16 });
  const t0 = performance.now();
  expect(json(await H.runtime.fetch(bystander, req("GET", "/ok")))).toEqual({ ok: true });
  expect(performance.now() - t0).toBeLessThan(400);
  const out = await Promise.all(calls);
  expect(out.filter((x) => x === "200").length).toBe(16);
  expect(out.filter((x) => x !== "200")).toEqual(Array(16).fill("rate_limited"));
});
