/**
 * A retention pass must not hold the event loop for long (src/retention/pruner.ts,
 * src/lib/pacing.ts): on SQLite its statements run on the main thread synchronously, and an
 * `await` of them yields only to microtasks, so every call in flight waits for as long as
 * one piece of the pass runs. Three faults of that kind, each found by an attack review and
 * each measured on a 2-core machine against the same bound (100 ms):
 * - A pass with nothing to delete never paused (it paused only after a step that deleted or
 *   vacuumed something): its per-agent reads ran back to back, and 200 agents at their
 *   5,000-line log cap held the loop 771 ms. Reads now count toward the pacing.
 * - The log age read, `max(id) FROM agent_logs WHERE agent_id = ? AND at < cutoff`, walked
 *   every line since the cutoff (agent_logs has no index on `at`): one chatty agent with a
 *   minute of lines at ~25,000/s (README issue 15's rate) held the loop ~225 ms in that one
 *   read. The age and byte reads now look only above the row cap's id: at most maxRows rows.
 * - The finished `schedule.run` jobs of deleted agents were found by one statement reading
 *   every finished run (`agent_id NOT IN (SELECT id FROM agents)`), a write transaction too:
 *   100 one-minute cron agents keep ~1 million runs over the 7-day limit, ~320 ms each pass
 *   even with nothing to delete. Agents that are gone are now found one agent id at a time.
 * Real SQLite files (checkpoints on their own thread, as the server opens them), real Pruner
 * with the server's default policy.
 */
import { afterAll, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/db";
import { Pruner, type PruneResult } from "../../src/retention/pruner";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const onSqlite = testDialect === "sqlite";
const dir = tempDir("cantrip-retention-paced-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const POLICY = { maxAgeDays: 7, maxInvocations: 10_000, maxLogLines: 5_000, maxLogBytes: 4 * 1024 * 1024, maxVersions: 50 };

/** A file seeded by `seed` (in one transaction, a workspace `ws_1` made), and one retention pass over it at `now`. */
async function passOver(name: string, now: number, seed: (raw: Database) => void): Promise<{ result: PruneResult; stallMs: number }> {
  const opened = openDatabase(join(dir, `${name}.db`), { checkpointInBackground: { onFailure() {} } });
  try {
    const raw = opened.sqlite;
    raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
    raw.transaction(() => seed(raw))();
    const { result, ms, stallMs } = await longestLoopStall(() => new Pruner(opened.db, POLICY, { now: () => now }).prune());
    console.log(`${name}: pass ${ms.toFixed(0)} ms; longest event-loop stall ${stallMs.toFixed(0)} ms`);
    return { result, stallMs };
  } finally {
    opened.close();
  }
}

const agentRow = (raw: Database) => raw.prepare("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws_1', ?, ?, 'deployed')");

test.skipIf(!onSqlite)("a pass with nothing to delete (200 agents at their log cap) does not hold the event loop for long", async () => {
  const { result, stallMs } = await passOver("at-cap", Date.now(), (raw) => {
    const agent = agentRow(raw);
    const line = raw.prepare("INSERT INTO agent_logs (agent_id, level, message, at) VALUES (?, 'info', ?, ?)");
    const msg = "x".repeat(100);
    for (let a = 0; a < 200; a++) {
      agent.run(`agt_${a}`, `a-${a}`, `a ${a}`);
      for (let i = 0; i < POLICY.maxLogLines; i++) line.run(`agt_${a}`, msg, Date.now());
    }
  });
  expect(result).toEqual({ invocations: 0, logs: 0, jobs: 0, versions: 0, pagesFreed: 0 });
  expect(stallMs).toBeLessThan(100);
}, 180_000);

test.skipIf(!onSqlite)("a pass over one agent with a minute of chatty logs does not hold the event loop for long", async () => {
  const now = Date.now();
  const LINES = 1_500_000; // one minute of one chatty agent at ~25,000 lines/s
  const { result, stallMs } = await passOver("chatty", now, (raw) => {
    agentRow(raw).run("agt_chatty", "chatty", "chatty");
    const line = raw.prepare("INSERT INTO agent_logs (agent_id, level, message, at) VALUES ('agt_chatty', 'info', ?, ?)");
    for (let i = 0; i < LINES; i++) line.run(`handled request ${i}`, now - 60_000 + Math.floor((i * 60_000) / LINES));
  });
  expect(result.logs).toBe(LINES - POLICY.maxLogLines); // the pass did its job: only the row cap's newest lines stay
  expect(stallMs).toBeLessThan(100);
}, 180_000);

test.skipIf(!onSqlite)("a pass over 100 one-minute cron agents' week of finished runs does not hold the event loop for long", async () => {
  const now = Date.now();
  const RUNS = 10_000; // just under a week of a one-minute cron: all within the 7-day limit
  const { result, stallMs } = await passOver("cron-runs", now, (raw) => {
    const agent = agentRow(raw);
    const run = raw.prepare(
      "INSERT INTO jobs (id, workspace_id, agent_id, kind, payload, status, run_at, created_at, updated_at, finished_at) VALUES (?, 'ws_1', ?, 'schedule.run', ?, 'completed', ?, ?, ?, ?)",
    );
    for (let a = 0; a < 100; a++) {
      const id = `agt_cron_${a}`;
      agent.run(id, `cron-${a}`, `cron ${a}`);
      for (let i = 0; i < RUNS; i++) {
        const at = now - (RUNS - i) * 60_000 + 1_000;
        run.run(`sched_${id}_${at}`, id, JSON.stringify({ agentId: id, scheduledFor: at }), at, at, at, at);
      }
    }
  });
  expect(result.jobs).toBe(0); // every run is within the age limit; no agent was deleted
  expect(stallMs).toBeLessThan(100);
}, 180_000);
