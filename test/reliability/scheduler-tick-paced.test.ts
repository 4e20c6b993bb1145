/**
 * The scheduler's tick (src/builder/scheduler.ts `tick`, every second) claims each due
 * schedule in a write transaction of its own and enqueues its run. On SQLite those run on
 * the main thread, and between schedules nothing yielded to the event loop: at a minute
 * boundary every per-minute schedule is due at once, so 1,000 of them (five workspaces at the
 * agent limit) held the loop in one piece (the same kind of fault as retention's and the
 * error-rate monitor's unpaced passes: test/reliability/retention-paced,
 * monitor-paced). Real SQLite file, real queue and Scheduler.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { count, eq } from "drizzle-orm";
import { openDatabase } from "../../src/db";
import { Scheduler } from "../../src/builder/scheduler";
import { builderTurnJob, scheduleRunJob } from "../../src/builder/jobs";
import { createQueue } from "../../src/jobs";
import { jobs } from "../../src/db/schema";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const SCHEDULES = 1_000;
const dir = tempDir("cantrip-tick-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.skipIf(testDialect !== "sqlite")("a tick with 1,000 schedules due does not hold the event loop for long, and queues every run once", async () => {
  const opened = openDatabase(join(dir, "tick.db"));
  try {
    const now = Date.UTC(2026, 0, 5, 12, 0, 0);
    const raw = opened.sqlite;
    raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
    const agent = raw.prepare("INSERT INTO agents (id, workspace_id, slug, name, status, latest_version, live_version) VALUES (?, 'ws_1', ?, ?, 'deployed', 1, 1)");
    const schedule = raw.prepare("INSERT INTO schedules (agent_id, cron, next_run_at) VALUES (?, '* * * * *', ?)");
    raw.transaction(() => {
      for (let i = 0; i < SCHEDULES; i++) {
        const id = `agent_t${String(i).padStart(4, "0")}`;
        agent.run(id, `t${i}`, `t${i}`);
        schedule.run(id, now);
      }
    })();
    const queue = createQueue({ db: opened.db });
    // The handlers never run here (the queue is not started); only the kinds' payload schemas are used.
    queue.register(scheduleRunJob({} as never)).register(builderTurnJob({} as never));
    const scheduler = new Scheduler({ db: opened.db, jobs: queue, minIntervalMs: 60_000 });
    const { result, ms, stallMs } = await longestLoopStall(() => scheduler.tick(now));
    console.log(`${result} runs queued in ${ms.toFixed(0)} ms; longest event-loop stall ${stallMs.toFixed(0)} ms`);
    expect(result).toBe(SCHEDULES);
    expect((await opened.db.select({ n: count() }).from(jobs).where(eq(jobs.kind, "schedule.run")))[0]!.n).toBe(SCHEDULES);
    expect(stallMs).toBeLessThan(30);
  } finally {
    opened.close();
  }
}, 120_000);
