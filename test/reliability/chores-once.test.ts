/**
 * Issue 18 (scale-out notes §4 trial 8, §5.4): the scheduler's work is done once however many
 * nodes share the database. Two "nodes" here are two data layers opened on one database (two
 * `openStore` on one SQLite file, or two pools on one PostgreSQL database), each with its own
 * queue and `Scheduler`, driven by one shared fake clock:
 * - ticks of both nodes, overlapping, fire every due occurrence exactly once (a naive port of
 *   the tick fired 400–450 of 550 twice on PostgreSQL in the notes' trial);
 * - the error-rate monitors of both nodes queue one repair per app per cooldown (the cooldown
 *   lives in `conversations.last_heal_at`, not in each node's memory);
 * - and, with two real servers on one PostgreSQL database, the periodic chores (retention, the
 *   monitor) run once per interval across both, not once per node.
 * The PostgreSQL half runs wherever PostgreSQL is installed (always in CI).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { and, count, eq } from "drizzle-orm";
import { boot, type Cantrip } from "../../src/boot";
import { builderTurnJob, scheduleRunJob } from "../../src/builder/jobs";
import { Scheduler, scheduleRunId, type HealPolicy } from "../../src/builder/scheduler";
import { openStore, type Store } from "../../src/db";
import { agents, conversations, invocations, jobs, schedules, workspaces } from "../../src/db/schema";
import { InvocationLog } from "../../src/gateway";
import { createQueue } from "../../src/jobs";
import { loadConfig } from "../../src/config";
import { silentLogger } from "../../src/http";
import { tempDir, TEST_SECRET_KEY } from "../harness";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

/** One node: its data layer, queue (never started: it only enqueues), invocation log and scheduler. */
function node(store: Store, heal: HealPolicy) {
  const queue = createQueue({ db: store.db });
  // The handlers never run here (the queue is not started); only the kinds' payload schemas are used.
  queue.register(scheduleRunJob({} as never)).register(builderTurnJob({} as never));
  const log = new InvocationLog(store.db);
  return { store, log, scheduler: new Scheduler({ db: store.db, jobs: queue, log, heal, minIntervalMs: 60_000 }) };
}

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // on a minute boundary
const SCHEDULES = 50;
const ROUNDS = 11;
const HEAL: HealPolicy = { windowMs: 5 * 60_000, minCalls: 20, threshold: 0.5, cooldownMs: 15 * 60_000 };

/** The suite, for two stores opened on one database. */
function chores(open: () => Promise<{ a: Store; b: Store; close(): Promise<void> }>) {
  let a: ReturnType<typeof node>;
  let b: ReturnType<typeof node>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const opened = await open();
    close = opened.close;
    a = node(opened.a, HEAL);
    b = node(opened.b, HEAL);
    const db = opened.a.db;
    await db.tx(async (t) => {
      await t.insert(workspaces).values({ id: "ws_1", name: "default" });
      for (let i = 0; i < SCHEDULES; i++) {
        const id = `agent_s${String(i).padStart(3, "0")}`;
        await t.insert(agents).values({ id, workspaceId: "ws_1", slug: `s${i}`, name: `s${i}`, status: "deployed", latestVersion: 1, liveVersion: 1 });
        await t.insert(schedules).values({ agentId: id, cron: "* * * * *", nextRunAt: T0 });
      }
    });
  });
  afterAll(async () => {
    await close?.();
  });

  test(`${SCHEDULES} schedules × ${ROUNDS} occurrences, both nodes ticking at once (twice each): every occurrence fires exactly once`, async () => {
    let reported = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const now = T0 + r * 60_000;
      const counts = await Promise.all([a.scheduler.tick(now), b.scheduler.tick(now), a.scheduler.tick(now), b.scheduler.tick(now)]);
      reported += counts.reduce((x, y) => x + y, 0);
    }
    const runs = await a.store.db.select({ id: jobs.id, agentId: jobs.agentId, payload: jobs.payload }).from(jobs).where(eq(jobs.kind, "schedule.run"));
    const occurrences = runs.map((j) => `${j.agentId}@${(j.payload as { scheduledFor: number }).scheduledFor}`);
    const total = SCHEDULES * ROUNDS;
    // Exactly one job per occurrence, and the ticks claimed each once (none "won" twice).
    expect({ jobs: runs.length, distinct: new Set(occurrences).size, reportedByTicks: reported }).toEqual({ jobs: total, distinct: total, reportedByTicks: total });
    for (const j of runs) expect(j.id).toBe(scheduleRunId(j.agentId!, (j.payload as { scheduledFor: number }).scheduledFor));
    const [row] = await b.store.db.select({ next: schedules.nextRunAt, last: schedules.lastRunAt }).from(schedules).where(eq(schedules.agentId, "agent_s000"));
    expect(row).toEqual({ next: T0 + ROUNDS * 60_000, last: T0 + (ROUNDS - 1) * 60_000 });
  });

  test("a run enqueued again for the same occurrence is absorbed by its id (the second insert returns the first job)", async () => {
    const q = createQueue({ db: a.store.db }).register(scheduleRunJob({} as never));
    const id = scheduleRunId("agent_s001", T0);
    const again = await q.enqueue("schedule.run", { agentId: "agent_s001", scheduledFor: T0 }, { workspaceId: "ws_1", agentId: "agent_s001", id });
    expect(again.id).toBe(id);
    expect((await a.store.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, id))).length).toBe(1);
  });

  test("flush() resolves once rows another flush (the loop's) was still writing are in: what the monitor reads after flushing", async () => {
    const at = T0 + 1_000_000;
    for (let i = 0; i < 300; i++)
      a.log.record({ agentId: "agent_s003", version: 1, keyId: null, source: "invoke", method: "GET", path: "/", status: 200, latencyMs: 1, errorCode: null, requestId: null, at: at + i }, []);
    void a.log.flush(); // the loop's flush, in flight
    await a.log.flush(); // the monitor's
    const [row] = await b.store.db.select({ n: count() }).from(invocations).where(eq(invocations.agentId, "agent_s003"));
    expect(row!.n).toBe(300);
  });

  test("the error-rate monitors of both nodes queue ONE repair per app per cooldown", async () => {
    const db = a.store.db;
    const now = T0 + 3_600_000;
    await db.tx(async (t) => {
      await t.insert(conversations).values({ id: "conv_1", workspaceId: "ws_1", agentId: "agent_s002", name: "app", status: "deployed", prompt: "an app" });
      for (let i = 0; i < 30; i++)
        await t.insert(invocations).values({ agentId: "agent_s002", version: 1, source: "invoke", method: "GET", path: "/", status: 502, latencyMs: 5, errorCode: "endpoint_unreachable", at: now - 1000 - i });
    });
    const heals = async () => (await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.kind, "builder.turn"), eq(jobs.agentId, "agent_s002")))).length;

    const first = await Promise.all([a.scheduler.monitor(now), b.scheduler.monitor(now), a.scheduler.monitor(now + 1), b.scheduler.monitor(now + 1)]);
    expect(first.flat()).toEqual(["conv_1"]);
    expect(await heals()).toBe(1);
    const [c] = await b.store.db.select({ at: conversations.lastHealAt }).from(conversations).where(eq(conversations.id, "conv_1"));
    expect([now, now + 1]).toContain(c!.at!);

    // Within the cooldown neither node queues another (the cooldown is in the database, not in node A's memory).
    expect((await Promise.all([a.scheduler.monitor(now + 60_000), b.scheduler.monitor(now + 60_000)])).flat()).toEqual([]);
    expect(await heals()).toBe(1);

    // After the cooldown (the calls still failing), again exactly one of them queues the next repair.
    const later = now + HEAL.cooldownMs + 2;
    await db.tx(async (t) => {
      for (let i = 0; i < 30; i++)
        await t.insert(invocations).values({ agentId: "agent_s002", version: 1, source: "invoke", method: "GET", path: "/", status: 502, latencyMs: 5, errorCode: "endpoint_unreachable", at: later - 1000 - i });
    });
    expect((await Promise.all([b.scheduler.monitor(later), a.scheduler.monitor(later), b.scheduler.monitor(later)])).flat()).toEqual(["conv_1"]);
    expect(await heals()).toBe(2);
  });
}

describe("two nodes on one SQLite file", () => {
  chores(async () => {
    const dir = tempDir();
    const file = join(dir, "cantrip.db");
    const a = await openStore({ file });
    const b = await openStore({ file });
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describePg("two nodes on one PostgreSQL database", () => {
  chores(async () => {
    const d: TestDatabase = await freshDatabase();
    const a = await openStore({ file: "", url: d.url, poolMax: 4, nodeId: "node_a" });
    const b = await openStore({ file: "", url: d.url, poolMax: 4, nodeId: "node_b" });
    return {
      a,
      b,
      async close() {
        await a.close();
        await b.close();
        await d.drop();
      },
    };
  });
});

describePg("two servers on one PostgreSQL database: periodic chores once per interval", () => {
  const EVERY = 200;
  let d: TestDatabase;
  const apps: Cantrip[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    d = await freshDatabase();
    for (let i = 0; i < 2; i++) {
      const dir = tempDir();
      dirs.push(dir);
      const config = loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dir, CANTRIP_LOG_REQUESTS: "false", CANTRIP_DATABASE_URL: d.url, CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DB_POOL_MAX: "4" });
      apps.push(await boot(config, { logger: silentLogger, loopIntervalsMs: { retention: EVERY, "error-rate-monitor": EVERY } }));
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await d?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test(`retention and the monitor, each on a ${EVERY} ms timer on both nodes, run about once per ${EVERY} ms in all (not twice)`, async () => {
    const runs = { retention: [] as number[], monitor: [] as number[] };
    for (const app of apps) {
      const { pruner, scheduler } = app.internals;
      const prune = pruner.prune.bind(pruner);
      const monitor = scheduler.monitor.bind(scheduler);
      pruner.prune = () => (runs.retention.push(Date.now()), prune());
      scheduler.monitor = (now?: number) => (runs.monitor.push(Date.now()), monitor(now));
    }
    const started = Date.now();
    await Bun.sleep(3000);
    const windowMs = Date.now() - started;
    // Each chore's singleton admits one run per 180 ms (choreInterval(200)) across the cluster;
    // per node, the timers alone would give about 2 × windowMs / 200.
    const cap = Math.floor(windowMs / 180) + 2;
    console.log(`[chores] in ${windowMs} ms with two nodes: retention ran ${runs.retention.length}×, the monitor ${runs.monitor.length}× (at most ${cap}; per-node timers alone ≈ ${Math.round((2 * windowMs) / EVERY)})`);
    expect(runs.retention.length).toBeGreaterThanOrEqual(3);
    expect(runs.monitor.length).toBeGreaterThanOrEqual(3);
    expect(runs.retention.length).toBeLessThanOrEqual(cap);
    expect(runs.monitor.length).toBeLessThanOrEqual(cap);
  });

  test("runNow runs the chore on this node whatever the singleton says (tests, operators)", async () => {
    let ran = 0;
    const pruner = apps[1]!.internals.pruner;
    const prune = pruner.prune.bind(pruner);
    pruner.prune = () => (ran++, prune());
    await apps[1]!.internals.loops.get("retention")!.runNow();
    await apps[1]!.internals.loops.get("retention")!.runNow();
    expect(ran).toBe(2);
  });
});
