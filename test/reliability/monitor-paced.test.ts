/**
 * The error-rate monitor (src/builder/scheduler.ts `monitor`, a chore every minute) reads each
 * deployed builder app's last five minutes of invocations: on SQLite those reads run on the
 * main thread synchronously, and between apps nothing yielded to the event loop. The same
 * kind of fault an attack found in the retention pass (test/reliability/retention-unpaced-scan):
 * 200 apps with 10,000 calls each in the window held the loop for the whole scan, every
 * minute, while every call in flight waited. Real SQLite file, real InvocationLog and
 * Scheduler with the default heal policy.
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

const APPS = 200;
const CALLS = 10_000; // the default invocation cap per agent, all inside the five-minute window
const onSqlite = testDialect === "sqlite";
const dir = tempDir("cantrip-monitor-");
let opened: OpenedDatabase;
const now = Date.now();

beforeAll(() => {
  if (!onSqlite) return;
  opened = openDatabase(join(dir, "monitor.db"));
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_mon', 'mon')");
  const agent = raw.prepare("INSERT INTO agents (id, workspace_id, slug, name, status, latest_version, live_version) VALUES (?, 'ws_mon', ?, ?, 'deployed', 1, 1)");
  const conv = raw.prepare("INSERT INTO conversations (id, workspace_id, agent_id, name, status, prompt) VALUES (?, 'ws_mon', ?, ?, 'deployed', 'an app')");
  const call = raw.prepare("INSERT INTO invocations (agent_id, version, source, method, path, status, latency_ms, request_id, at) VALUES (?, 1, 'app', 'GET', '/', 200, ?, ?, ?)");
  raw.transaction(() => {
    for (let a = 0; a < APPS; a++) {
      const id = `agt_mon_${a}`;
      agent.run(id, `mon-${a}`, `mon ${a}`);
      conv.run(`conv_mon_${a}`, id, `mon ${a}`);
      for (let i = 0; i < CALLS; i++) call.run(id, i % 97, `req_${a}_${i}`, now - 60_000 + (i % 50_000));
    }
  })();
});

afterAll(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!onSqlite)("the error-rate monitor over 200 busy apps does not hold the event loop for long", async () => {
  const queue = createQueue({ db: opened.db });
  const scheduler = new Scheduler({ db: opened.db, jobs: queue, log: new InvocationLog(opened.db) });
  const { result: queued, ms, stallMs: worst } = await longestLoopStall(() => scheduler.monitor(now));
  expect(queued).toEqual([]); // no errors: nothing to repair
  console.log(`monitor ${ms.toFixed(0)} ms; longest event-loop stall ${worst.toFixed(0)} ms`);
  expect(worst).toBeLessThan(100);
}, 120_000);
