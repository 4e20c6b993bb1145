/**
 * Found by an attack review: the tick's claims are paced (src/builder/scheduler.ts `tick`, b5bc05e):
 * on SQLite the event loop now runs between claims, so requests are served in the middle of
 * a tick. But the tick still decides "deployed or not" from `live`, read once for every due
 * schedule before the first claim. An agent taken offline (deployer.stop → takeOffline sets
 * live_version NULL) during the tick's pauses, before its own occurrence was claimed, still
 * gets a schedule.run queued: the code's own rule is "not deployed: skip this occurrence",
 * and the run then fails with not_deployed (runScheduled) as a failed scheduled run in the
 * agent's job list. Before the pacing, nothing could be served between the due read and the
 * claims on SQLite (on PostgreSQL the race was there already). The claim now re-reads the
 * agent's live version in its own transaction.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { openDatabase } from "../../src/db";
import { Scheduler } from "../../src/builder/scheduler";
import { builderTurnJob, scheduleRunJob } from "../../src/builder/jobs";
import { takeOffline } from "../../src/agents/lifecycle";
import { createQueue } from "../../src/jobs";
import { agents, jobs, schedules } from "../../src/db/schema";
import { tempDir, testDialect } from "../harness";

const SCHEDULES = 400;
const dir = tempDir("cantrip-a9-tick-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.skipIf(testDialect !== "sqlite")("an agent taken offline during a paced tick, before its occurrence is claimed, gets no schedule.run queued", async () => {
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
    const last = `agent_t${String(SCHEDULES - 1).padStart(4, "0")}`; // claimed last (ORDER BY agent_id)
    const queue = createQueue({ db: opened.db });
    queue.register(scheduleRunJob({} as never)).register(builderTurnJob({} as never));
    const scheduler = new Scheduler({ db: opened.db, jobs: queue, minIntervalMs: 60_000 });

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
