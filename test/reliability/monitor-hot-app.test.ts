/**
 * Found by an attack on the paced error-rate monitor (e6dbc92, src/builder/scheduler.ts `monitor`, src/lib/pacing.ts):
 * the monitor now pauses between its reads, but each app's read (InvocationLog.errorRate: count
 * and errors over the last five minutes) is one statement, and on SQLite it runs on the main
 * thread in one piece. Its cost grows with the app's calls in the window: the index
 * (agent_id, at) finds them, but `status` and `error_code` are read from every row. Retention
 * trims an agent to 10,000 rows only once a minute, so a busy app has about a minute of calls
 * in the window: at the ~25,000 calls/s of README issue 15 that is ~1.5 million rows, and one
 * tenant's busy app then holds every other tenant's calls for that one read, every minute
 * (130–150 ms measured at 1.5 million rows on a 2-core machine). The bound is the one
 * test/reliability/monitor-paced.test.ts sets for 200 busy apps (100 ms). The monitor now
 * judges an app by its newest 10,000 calls in the window (MONITOR_NEWEST_CALLS): one read of
 * at most that many rows (7 ms here).
 * Real SQLite file, real InvocationLog and Scheduler with the default heal policy.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../../src/db";
import { Scheduler } from "../../src/builder/scheduler";
import { InvocationLog } from "../../src/gateway";
import { createQueue } from "../../src/jobs";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const CALLS = 1_500_000; // one minute of one app at ~25,000 calls/s (README, issue 15)
const onSqlite = testDialect === "sqlite";
const dir = tempDir("cantrip-monitor-hot-");
let opened: OpenedDatabase;
const now = Date.now();

beforeAll(() => {
  if (!onSqlite) return;
  opened = openDatabase(join(dir, "monitor.db"), { checkpointInBackground: { onFailure() {} } });
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_hot', 'hot')");
  raw.exec("INSERT INTO agents (id, workspace_id, slug, name, status, latest_version, live_version) VALUES ('agt_hot', 'ws_hot', 'hot', 'hot', 'deployed', 1, 1)");
  raw.exec("INSERT INTO conversations (id, workspace_id, agent_id, name, status, prompt) VALUES ('conv_hot', 'ws_hot', 'agt_hot', 'hot', 'deployed', 'an app')");
  const call = raw.prepare("INSERT INTO invocations (agent_id, version, source, method, path, status, latency_ms, request_id, at) VALUES ('agt_hot', 1, 'invoke', 'POST', '/', 200, 1, ?, ?)");
  raw.transaction(() => {
    for (let i = 0; i < CALLS; i++) call.run(`req_${i}`, now - 60_000 + Math.floor((i * 60_000) / CALLS));
  })();
});

afterAll(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!onSqlite)("the error-rate monitor over one app with a minute of calls at ~25,000/s does not hold the event loop for long", async () => {
  const queue = createQueue({ db: opened.db });
  const scheduler = new Scheduler({ db: opened.db, jobs: queue, log: new InvocationLog(opened.db) });
  const { result: queued, ms, stallMs: worst } = await longestLoopStall(() => scheduler.monitor(now));
  expect(queued).toEqual([]); // no errors: nothing to repair
  console.log(`monitor ${ms.toFixed(0)} ms; longest event-loop stall ${worst.toFixed(0)} ms`);
  expect(worst).toBeLessThan(100);
}, 120_000);
