/**
 * Found by an attack on the paced retention pass (a71b1dc, e6dbc92; src/retention/pruner.ts, src/lib/pacing.ts,
 * src/jobs/retention.ts `deleteOrphans`): a pass pauses between its steps, but its last delete,
 * the finished `schedule.run` jobs of deleted agents, is one statement that reads every finished
 * schedule.run job in the table (`agent_id NOT IN (SELECT id FROM agents)`: the only index it can
 * use is jobs_pick (status, run_at)), even when no agent was ever deleted and it removes nothing.
 * Retention keeps an agent's finished runs for the age limit (the newest 200 always), so a
 * one-minute cron keeps ~10,080 of them over the default 7 days; 100 such agents (half of one
 * workspace's default agent limit) keep ~1 million, and every pass then holds the main thread,
 * and the SQLite write lock, for that one statement in one piece (on a 2-core machine: the statement alone 354 ms at
 * 1 million runs, the pass's longest stall 307–324 ms; each agent's oldestKept read ~6 ms). The bound is the one the change's own test
 * uses (test/reliability/retention-unpaced-scan.test.ts, 100 ms). The pass now finds agents
 * that are gone one agent id at a time (one seek of jobs_agent each) and deletes only theirs.
 * Real SQLite file (checkpoints on their own thread, as the server opens it), real Pruner with
 * the server's default policy; nothing is old enough to delete.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../../src/db";
import { Pruner } from "../../src/retention/pruner";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const AGENTS = 100;
const RUNS = 10_000; // just under a week of a one-minute cron: all within the 7-day limit
const onSqlite = testDialect === "sqlite";
const dir = tempDir("cantrip-orphan-scan-");
let opened: OpenedDatabase;
const now = Date.now();

beforeAll(() => {
  if (!onSqlite) return;
  opened = openDatabase(join(dir, "runs.db"), { checkpointInBackground: { onFailure() {} } });
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_cron', 'cron')");
  const agent = raw.prepare("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws_cron', ?, ?, 'deployed')");
  const run = raw.prepare(
    "INSERT INTO jobs (id, workspace_id, agent_id, kind, payload, status, run_at, created_at, updated_at, finished_at) VALUES (?, 'ws_cron', ?, 'schedule.run', ?, 'completed', ?, ?, ?, ?)",
  );
  raw.transaction(() => {
    for (let a = 0; a < AGENTS; a++) {
      const id = `agt_cron_${a}`;
      agent.run(id, `cron-${a}`, `cron ${a}`);
      for (let i = 0; i < RUNS; i++) {
        const at = now - (RUNS - i) * 60_000 + 1_000;
        run.run(`sched_${id}_${at}`, id, JSON.stringify({ agentId: id, scheduledFor: at }), at, at, at, at);
      }
    }
  })();
});

afterAll(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!onSqlite)("a pass over 100 one-minute cron agents' week of finished runs does not hold the event loop for long", async () => {
  const pruner = new Pruner(opened.db, { maxAgeDays: 7, maxInvocations: 10_000, maxLogLines: 5_000, maxLogBytes: 4 * 1024 * 1024, maxVersions: 50 }, { now: () => now });
  const { result: r, ms, stallMs: worst } = await longestLoopStall(() => pruner.prune());
  expect(r.jobs).toBe(0); // every run is within the age limit; no agent was deleted
  console.log(`pass ${ms.toFixed(0)} ms; longest event-loop stall ${worst.toFixed(0)} ms`);
  expect(worst).toBeLessThan(100);
}, 180_000);
