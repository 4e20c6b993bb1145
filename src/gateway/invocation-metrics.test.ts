/**
 * The invocation log's read side (issue 17): metrics are SQL aggregates over the window,
 * equal to a brute-force computation over the same rows, and exact beyond the 100 000 rows
 * the old in-memory version loaded (it silently counted only the newest 100 000).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../db";
import { InvocationLog } from "./invocation-log";

let opened: OpenedDatabase;
let dir: string;
afterEach(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup() {
  dir = mkdtempSync(join(tmpdir(), "cantrip-metrics-"));
  opened = openDatabase(join(dir, "m.db"));
  opened.sqlite.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
  for (const id of ["agent_a", "agent_b"]) opened.sqlite.query("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws_1', ?, ?, 'ready')").run(id, id, id);
  return new InvocationLog(opened.db);
}

type Row = { agentId: string; status: number; latencyMs: number; errorCode: string | null; at: number };

function insert(rows: Row[]) {
  const q = opened.sqlite.query("INSERT INTO invocations (agent_id, source, status, latency_ms, error_code, at) VALUES (?, 'invoke', ?, ?, ?, ?)");
  opened.sqlite.transaction(() => {
    for (const r of rows) q.run(r.agentId, r.status, r.latencyMs, r.errorCode, r.at);
  })();
}

/** The definition, computed by hand: nearest-rank percentiles, errors = code or 5xx. */
function expected(rows: Row[], agentId: string, windowMs: number, now: number) {
  const w = rows.filter((r) => r.agentId === agentId && r.at >= now - windowMs);
  const lat = w.map((r) => r.latencyMs).sort((a, b) => a - b);
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)]! : null);
  const errors = w.filter((r) => r.errorCode !== null || r.status >= 500).length;
  return { windowMs, count: w.length, errors, errorRate: w.length ? errors / w.length : 0, latencyMs: { p50: pct(50), p95: pct(95), p99: pct(99) } };
}

test("metrics equal the brute-force definition over the window, per agent", async () => {
  const log = setup();
  const now = 10_000_000;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rows: Row[] = [];
  for (let i = 0; i < 3000; i++)
    rows.push({
      agentId: rand() < 0.7 ? "agent_a" : "agent_b",
      status: rand() < 0.05 ? 502 : rand() < 0.1 ? 400 : 200,
      latencyMs: Math.floor(rand() * 900),
      errorCode: rand() < 0.03 ? "endpoint_timeout" : null,
      at: now - Math.floor(rand() * 120_000),
    });
  insert(rows);
  for (const agentId of ["agent_a", "agent_b"])
    for (const windowMs of [1, 1_000, 60_000, 200_000]) expect(await log.metrics(agentId, windowMs, now)).toEqual(expected(rows, agentId, windowMs, now));
  expect(await log.metrics("agent_none", 60_000, now)).toEqual({ windowMs: 60_000, count: 0, errors: 0, errorRate: 0, latencyMs: { p50: null, p95: null, p99: null } });
});

test("more than 100 000 rows in the window are all counted", async () => {
  const log = setup();
  const now = 50_000_000;
  const n = 100_050;
  const rows: Row[] = Array.from({ length: n }, (_, i) => ({ agentId: "agent_a", status: i < 50 ? 500 : 200, latencyMs: i % 1000, errorCode: null, at: now - 1000 }));
  insert(rows);
  const m = await log.metrics("agent_a", 60_000, now);
  expect(m.count).toBe(n);
  expect(m.errors).toBe(50);
  expect(m.latencyMs).toEqual(expected(rows, "agent_a", 60_000, now).latencyMs);
});

test("errorRate with `newest` counts only the agent's newest rows in the window (the error-rate monitor's bounded read)", async () => {
  const log = setup();
  const now = 10_000_000;
  const rows: Row[] = [];
  // Older first: 20 errors, then 10 good calls, all in the window; another agent's rows between.
  for (let i = 0; i < 20; i++) rows.push({ agentId: "agent_a", status: 500, latencyMs: 1, errorCode: null, at: now - 1000 + i });
  for (let i = 0; i < 5; i++) rows.push({ agentId: "agent_b", status: 500, latencyMs: 1, errorCode: null, at: now - 500 });
  for (let i = 0; i < 10; i++) rows.push({ agentId: "agent_a", status: 200, latencyMs: 1, errorCode: null, at: now - 100 + i });
  // And one of agent_a's newest rows outside the window (an old timestamp written late).
  rows.push({ agentId: "agent_a", status: 200, latencyMs: 1, errorCode: null, at: now - 999_999 });
  insert(rows);
  expect(await log.errorRate("agent_a", 60_000, now)).toEqual({ windowMs: 60_000, count: 30, errors: 20, errorRate: 20 / 30 });
  expect(await log.errorRate("agent_a", 60_000, now, 11)).toEqual({ windowMs: 60_000, count: 10, errors: 0, errorRate: 0 });
  expect(await log.errorRate("agent_a", 60_000, now, 15)).toEqual({ windowMs: 60_000, count: 14, errors: 4, errorRate: 4 / 14 });
  expect(await log.errorRate("agent_a", 60_000, now, 1_000)).toEqual(await log.errorRate("agent_a", 60_000, now));
});
