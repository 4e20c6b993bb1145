/**
 * The scheduler's tick (src/builder/scheduler.ts `tick`, every second) claims each due
 * schedule in a write transaction of its own and enqueues its run. On SQLite those run on
 * the main thread, and between schedules nothing yielded to the event loop: at a minute
 * boundary every per-minute schedule is due at once, so 1,000 of them (five workspaces at the
 * agent limit) held the loop ~490 ms in one piece (the same kind of fault as retention's and
 * the error-rate monitor's unpaced passes: test/reliability/retention-paced, monitor-paced).
 * Its claims are paced now, so requests are served in the middle of a tick, and an attack
 * review found what that exposed: the tick decided "deployed or not" from the agents' live
 * versions read once before the first claim, so an agent taken offline during the pauses
 * (deployer.stop → takeOffline) still got a `schedule.run` queued, which then failed with
 * not_deployed. A claim now re-reads the live version in its own transaction (on PostgreSQL
 * the race was there before the pacing too). Real SQLite files, real queue and Scheduler.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { and, count, eq } from "drizzle-orm";
import { openDatabase, type OpenedDatabase } from "../../src/db";
import { Scheduler } from "../../src/builder/scheduler";
import { builderTurnJob, scheduleRunJob } from "../../src/builder/jobs";
import { takeOffline } from "../../src/agents/lifecycle";
import { createQueue } from "../../src/jobs";
import { agents, jobs, schedules } from "../../src/db/schema";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const dir = tempDir("cantrip-tick-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const now = Date.UTC(2026, 0, 5, 12, 0, 0);
const agentIdOf = (i: number) => `agent_t${String(i).padStart(4, "0")}`;

/** A file with `n` deployed agents, each with a per-minute schedule due at `now`, and a Scheduler on it. */
function dueSchedules(name: string, n: number): { opened: OpenedDatabase; scheduler: Scheduler } {
  const opened = openDatabase(join(dir, `${name}.db`));
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
  const agent = raw.prepare("INSERT INTO agents (id, workspace_id, slug, name, status, latest_version, live_version) VALUES (?, 'ws_1', ?, ?, 'deployed', 1, 1)");
  const schedule = raw.prepare("INSERT INTO schedules (agent_id, cron, next_run_at) VALUES (?, '* * * * *', ?)");
  raw.transaction(() => {
    for (let i = 0; i < n; i++) {
      agent.run(agentIdOf(i), `t${i}`, `t${i}`);
      schedule.run(agentIdOf(i), now);
    }
  })();
  const queue = createQueue({ db: opened.db });
  // The handlers never run here (the queue is not started); only the kinds' payload schemas are used.
  queue.register(scheduleRunJob({} as never)).register(builderTurnJob({} as never));
  return { opened, scheduler: new Scheduler({ db: opened.db, jobs: queue, minIntervalMs: 60_000 }) };
}

test.skipIf(testDialect !== "sqlite")("a tick with 1,000 schedules due does not hold the event loop for long, and queues every run once", async () => {
  const { opened, scheduler } = dueSchedules("many", 1_000);
  try {
    const { result, ms, stallMs } = await longestLoopStall(() => scheduler.tick(now));
    console.log(`${result} runs queued in ${ms.toFixed(0)} ms; longest event-loop stall ${stallMs.toFixed(0)} ms`);
    expect(result).toBe(1_000);
    expect((await opened.db.select({ n: count() }).from(jobs).where(eq(jobs.kind, "schedule.run")))[0]!.n).toBe(1_000);
    expect(stallMs).toBeLessThan(100); // (the old code: 493 ms)
  } finally {
    opened.close();
  }
}, 120_000);

test.skipIf(testDialect !== "sqlite")("an agent taken offline during a paced tick, before its occurrence is claimed, gets no schedule.run queued", async () => {
  const SCHEDULES = 400;
  const { opened, scheduler } = dueSchedules("stopped", SCHEDULES);
  try {
    const last = agentIdOf(SCHEDULES - 1); // claimed last (ORDER BY agent_id)
    // A request served while the tick runs: the operator stops the last agent (deployer.stop's takeOffline).
    let stoppedBeforeItsClaim = false;
    const stop = new Promise<void>((resolve) =>
      setTimeout(async () => {
        const s = (await opened.db.select().from(schedules).where(eq(schedules.agentId, last)))[0]!;
        stoppedBeforeItsClaim = s.nextRunAt === now; // its occurrence not claimed yet
        await opened.db.tx(async (tx) => takeOffline(tx, { id: last, latestVersion: 1, status: "deployed" }));
        resolve();
      }, 0),
    );
    const queued = await scheduler.tick(now);
    await stop;
    expect(stoppedBeforeItsClaim).toBe(true); // the tick paused before claiming the last one (the interleaving exists)
    expect((await opened.db.select().from(agents).where(eq(agents.id, last)))[0]!.liveVersion).toBeNull();
    const runsOfStopped = await opened.db.select().from(jobs).where(and(eq(jobs.kind, "schedule.run"), eq(jobs.agentId, last)));
    // It was not deployed when its occurrence was claimed: the occurrence is skipped, no run queued.
    expect(runsOfStopped).toEqual([]);
    expect(queued).toBe(SCHEDULES - 1);
  } finally {
    opened.close();
  }
}, 60_000);
