/**
 * Issue 18, the job queue with several nodes on one PostgreSQL database (scale-out notes §4
 * trials 1–3, §5.3). Each "node" is a `Db` of its own (`openPostgresDb` on the same database:
 * its own pool and LISTEN connection), or a real second process (fixtures/worker.ts). Runs
 * whenever PostgreSQL is available (describePg), on either CANTRIP_TEST_DB.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { execute, queryRows, type Db } from "../../src/db";
import { jobEvents, jobs } from "../../src/db/schema";
import { jobEventStream } from "../../src/http/sse";
import { defineJobKind, type JobEventRow } from "../../src/jobs";
import { EventBus } from "../../src/jobs/events";
import { JobStore } from "../../src/jobs/store";
import { describePg } from "../pg/shared";
import { cleanupAfterEach, freshPgDatabase, open, queueOn, sleep, until } from "./setup";

cleanupAfterEach();

const WORKER = join(import.meta.dir, "fixtures/worker.ts");

/** A kind whose handler records which queue ran which job, and waits `ms`. */
function recorded(name: string, runs: Map<string, string[]>, ms = 1) {
  return defineJobKind({
    kind: "work",
    payload: Type.Object({ n: Type.Integer() }),
    timeoutMs: 10_000,
    maxAttempts: 1,
    backoff: { baseMs: 10, maxMs: 10 },
    async handler({ job }) {
      runs.set(job.id, [...(runs.get(job.id) ?? []), name]);
      await sleep(ms);
      return { by: name };
    },
  });
}

/** Enqueues `n` jobs of `kind` through `db` in transactions of 100. */
async function enqueueMany(db: Db, q: { enqueueInTx: (tx: never, kind: string, payload: unknown) => Promise<{ id: string }> }, kind: string, n: number, payload: (i: number) => unknown): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < n; from += 100)
    await db.tx(async (tx) => {
      for (let i = from; i < Math.min(n, from + 100); i++) ids.push((await q.enqueueInTx(tx as never, kind, payload(i))).id);
    });
  return ids;
}

/** Status events per job, in order. */
async function statusesOf(db: Db, ids: string[]): Promise<Map<string, JobEventRow[]>> {
  const rows = await db.select().from(jobEvents).where(and(inArray(jobEvents.jobId, ids), eq(jobEvents.type, "status"))).orderBy(jobEvents.id);
  const out = new Map<string, JobEventRow[]>(ids.map((id) => [id, []]));
  for (const r of rows) out.get(r.jobId)!.push(r);
  return out;
}

/** Reads an SSE response until it ends; returns its frames as {event, data}. */
async function readSse(res: Response, timeoutMs: number): Promise<{ event: string; data: any }[]> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  const deadline = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(deadline);
  }
  return text
    .split("\n\n")
    .filter((f) => f.includes("data:"))
    .map((f) => ({ event: /^event: (.*)$/m.exec(f)?.[1] ?? "message", data: JSON.parse(/^data: (.*)$/m.exec(f)![1]!) }));
}

describePg("jobs on one PostgreSQL database, several nodes", () => {
  test("two queues on two Dbs never run one job twice (800 jobs), and both take a share", async () => {
    const url = await freshPgDatabase();
    const runs = new Map<string, string[]>();
    const a = (await queueOn(url, { workerId: "node-a", concurrency: 4, pollMs: 50 })).register(recorded("a", runs));
    const b = (await queueOn(url, { workerId: "node-b", concurrency: 4, pollMs: 50 })).register(recorded("b", runs));
    const ids = await enqueueMany(a.db, a, "work", 800, (n) => ({ n }));
    a.start();
    b.start();
    await until(async () => (await a.db.select({ n: count() }).from(jobs).where(eq(jobs.status, "completed")))[0]!.n === 800, 60_000, "800 jobs completed");
    expect(runs.size).toBe(800);
    expect([...runs].filter(([, who]) => who.length !== 1)).toEqual([]);
    const byB = [...runs.values()].filter((w) => w[0] === "b").length;
    expect(byB).toBeGreaterThan(0);
    expect(byB).toBeLessThan(800);
    const seen = await statusesOf(a.db, ids);
    expect([...seen.values()].filter((s) => s.map((e) => e.message).join(",") !== "queued,running,completed")).toEqual([]);
    expect(await a.db.select({ n: count() }).from(jobs).where(sql`${jobs.attempts} <> 1`)).toEqual([{ n: 0 }]);
  }, 90_000);

  test("two worker processes on one database claim 500 jobs, each exactly once", async () => {
    const url = await freshPgDatabase();
    const api = await queueOn(url); // enqueues and reads; never started
    const { sleepyJob } = await import("./fixtures/sleepy");
    api.register(sleepyJob(1));
    const ids = await enqueueMany(api.db, api, "sleepy", 500, () => ({ hangOnAttempts: [] }));
    const procs = ["proc-a", "proc-b"].map((id) => Bun.spawn([process.execPath, WORKER, url, id, "5000", "1", "4"], { stdout: "ignore", stderr: "inherit" }));
    try {
      await until(async () => (await api.db.select({ n: count() }).from(jobs).where(eq(jobs.status, "completed")))[0]!.n === 500, 60_000, "500 jobs completed");
    } finally {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited));
    }
    const seen = await statusesOf(api.db, ids);
    const wrong = [...seen].filter(([, s]) => s.map((e) => e.message).join(",") !== "queued,running,completed");
    expect(wrong).toEqual([]);
    const workers = new Map<string, number>();
    for (const s of seen.values()) {
      const w = String((s[1]!.data as { worker: string }).worker).split("#")[0]!;
      workers.set(w, (workers.get(w) ?? 0) + 1);
    }
    expect([...workers.keys()].sort()).toEqual(["proc-a", "proc-b"]);
    expect(await api.db.select({ n: count() }).from(jobs).where(sql`${jobs.attempts} <> 1`)).toEqual([{ n: 0 }]);
  }, 90_000);

  test("expired last attempts are failed once, though four nodes claim at the same moment", async () => {
    const url = await freshPgDatabase();
    const q = (await queueOn(url)).register(recorded("api", new Map()));
    const ids = await enqueueMany(q.db, q, "work", 200, (n) => ({ n }));
    // A dead node's jobs: running on their last attempt, lease expired.
    await q.db.tx((t) => t.update(jobs).set({ status: "running", attempts: 1, leaseOwner: "dead#1", leaseUntil: Date.now() - 1_000 }).where(inArray(jobs.id, ids)));
    const stores = await Promise.all(["n1", "n2", "n3", "n4"].map(async () => {
      const db = await open(url);
      return new JobStore(db, new EventBus(db, { direct: false }), { now: () => Date.now() });
    }));
    const claimed = await Promise.all(stores.map((st, i) => st.claim(["work"], `n${i + 1}#1`, 5_000)));
    expect(claimed).toEqual([undefined, undefined, undefined, undefined]); // nothing left to run
    const seen = await statusesOf(q.db, ids);
    const settledTwice = [...seen].filter(([, s]) => s.filter((e) => e.message === "failed").length !== 1).map(([id]) => id);
    expect(settledTwice).toEqual([]);
    expect(await q.db.select({ n: count() }).from(jobs).where(eq(jobs.status, "failed"))).toEqual([{ n: 200 }]);
  }, 60_000);

  test("cancelling jobs while two nodes claim them: a job that started is never 'cancelled before it started'", async () => {
    const url = await freshPgDatabase();
    const runs = new Map<string, string[]>();
    const a = (await queueOn(url, { workerId: "node-a", concurrency: 4, pollMs: 5 })).register(recorded("a", runs, 5));
    const b = (await queueOn(url, { workerId: "node-b", concurrency: 4, pollMs: 5 })).register(recorded("b", runs, 5));
    const ids = await enqueueMany(a.db, a, "work", 200, (n) => ({ n }));
    a.start();
    b.start();
    // Cancel every job from a third node while the two claim them.
    const api = await queueOn(url);
    await Promise.all(ids.map((id) => api.cancel(id)));
    await until(async () => (await api.db.select({ n: count() }).from(jobs).where(inArray(jobs.status, ["queued", "running"])))[0]!.n === 0, 30_000, "all settled");
    const seen = await statusesOf(api.db, ids);
    const wrong = [...seen].filter(([, s]) => {
      const names = s.map((e) => e.message);
      const early = s.findIndex((e) => (e.data as { reason?: string }).reason === "cancelled before it started");
      const terminal = names.filter((n) => n === "completed" || n === "cancelled" || n === "failed").length;
      return terminal !== 1 || (early >= 0 && names.slice(0, early).includes("running"));
    });
    expect(wrong.map(([id, s]) => `${id}: ${s.map((e) => e.message).join(",")}`)).toEqual([]);
  }, 60_000);

  test("an enqueue on one node wakes an idle queue on another well before its poll interval", async () => {
    const url = await freshPgDatabase();
    const started = new Map<string, number>();
    const kind = defineJobKind({
      kind: "ping",
      payload: Type.Object({}),
      timeoutMs: 5_000,
      maxAttempts: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      async handler({ job }) {
        started.set(job.id, performance.now());
      },
    });
    const api = (await queueOn(url)).register(kind); // never started: only enqueues
    const idle = (await queueOn(url, { workerId: "idle", pollMs: 30_000 })).register(kind);
    idle.start();
    await sleep(300); // its first pass found nothing; the next poll is 30 s away
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const job = await api.enqueue("ping", {});
      await until(() => started.has(job.id), 3_000, "the idle queue to claim the job");
      latencies.push(started.get(job.id)! - t0);
      await sleep(20);
    }
    latencies.sort((x, y) => x - y);
    console.log(`[wake] enqueue → handler on the other node, 20 runs: p50 ${latencies[10]!.toFixed(1)} ms, max ${latencies[19]!.toFixed(1)} ms (poll interval 30 000 ms)`);
    expect(latencies[19]!).toBeLessThan(3_000);
  }, 30_000);

  test("a cancel requested on node A stops the run on node B at once, not at B's next heartbeat", async () => {
    const url = await freshPgDatabase();
    const aborts: number[] = [];
    const kind = defineJobKind({
      kind: "long",
      payload: Type.Object({}),
      timeoutMs: 60_000,
      maxAttempts: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      async handler({ signal, progress }) {
        progress(10, "waiting");
        await new Promise((_, reject) => signal.addEventListener("abort", () => (aborts.push(performance.now()), reject(signal.reason))));
      },
    });
    const nodeA = (await queueOn(url, { workerId: "node-a" })).register(kind); // the API node, runs nothing
    const nodeB = (await queueOn(url, { workerId: "node-b", leaseMs: 30_000, heartbeatMs: 10_000 })).register(kind);
    nodeB.start();
    const job = await nodeA.enqueue("long", {});
    await until(async () => (await nodeA.get(job.id))?.progress === 10, 5_000, "node B to start the job");
    const t0 = performance.now();
    // Requested: B owns the run (and may already have ended it by the time A reads the row back).
    expect(["running", "cancelled"]).toContain((await nodeA.cancel(job.id))!.status);
    const done = await nodeA.waitFor(job.id, 5_000);
    expect(done.status).toBe("cancelled");
    expect(aborts).toHaveLength(1);
    expect(aborts[0]! - t0).toBeLessThan(3_000); // the heartbeat would come after up to 10 s
  }, 30_000);

  test("an SSE stream on node A follows a job that node B runs, to done", async () => {
    const url = await freshPgDatabase();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const kind = defineJobKind({
      kind: "steps",
      payload: Type.Object({}),
      timeoutMs: 10_000,
      maxAttempts: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      async handler({ progress, log }) {
        await gate; // until A's stream is open
        progress(30, "plan");
        log("info", "working");
        progress(80, "build");
        return { ok: true };
      },
    });
    const nodeA = (await queueOn(url, { workerId: "node-a" })).register(kind); // serves the stream, runs nothing
    const nodeB = (await queueOn(url, { workerId: "node-b" })).register(kind);
    nodeB.start();
    const job = await nodeA.enqueue("steps", {});
    await until(async () => (await nodeA.get(job.id))?.status === "running", 5_000, "node B to claim the job");
    const res = await jobEventStream(nodeA, job.id, 0);
    const frames = readSse(res, 8_000);
    await sleep(50);
    release();
    const seen = await frames;
    const done = seen.at(-1)!;
    expect(done).toEqual({ event: "done", data: { status: "completed", progress: 100 } });
    expect(seen.filter((f) => f.event === "status").map((f) => f.data.status)).toEqual(["queued", "running", "completed"]);
    expect(seen.filter((f) => f.event === "progress").map((f) => f.data.stage)).toEqual(["plan", "build"]);
    expect(seen.filter((f) => f.event === "log").map((f) => f.data.message)).toEqual(["working"]);
  }, 30_000);

  test("a subscriber catches up from job_events after its LISTEN connection is re-established", async () => {
    const url = await freshPgDatabase();
    const dbA = await open(url);
    const kind = defineJobKind({
      kind: "quick",
      payload: Type.Object({}),
      timeoutMs: 5_000,
      maxAttempts: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      async handler({ progress }) {
        progress(50, "half");
        return { ok: true };
      },
    });
    const nodeB = (await queueOn(url, { workerId: "node-b", pollMs: 20 })).register(kind);
    const job = await nodeB.enqueue("quick", {}, { runAt: Date.now() + 60_000 }); // not yet due
    // Node A follows the job with the backstop off: only notifications and resyncs reach it.
    const events = new EventBus(dbA, { direct: false, catchUpMs: 0 });
    const got: string[] = [];
    events.subscribe(job.id, (e) => got.push(`${e.type}:${e.message}`));
    await sleep(100);
    // Cut every LISTEN connection on this database (as a network blip would), then run the job
    // at once on B while A is not listening: its notifications are lost.
    const killed = await queryRows<{ ok: boolean }>(dbA, sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`);
    expect(killed.length).toBeGreaterThan(0);
    await nodeB.db.tx((t) => execute(t, sql`UPDATE jobs SET run_at = 0 WHERE id = ${job.id}`));
    nodeB.start();
    expect((await nodeB.waitFor(job.id, 5_000)).status).toBe("completed");
    await until(() => got.includes("status:completed"), 10_000, "node A to see the terminal event");
    expect(got).toEqual(["status:running", "progress:half", "status:completed"]);
  }, 30_000);
});
