/**
 * The job queue with two nodes on one PostgreSQL database (issue 18), each figure with a
 * same-run baseline:
 * - wake-up: enqueue → handler start on an idle queue whose poll is 30 s away, when the
 *   queue is on the enqueuing node (woken at commit, in process) vs on the other node (woken
 *   by the `job.queued` NOTIFY);
 * - drain: N zero-work jobs claimed and completed by one queue vs two queues on two nodes
 *   (concurrency 4 each), with the double-run count (must be 0);
 * - takeover: a worker process (lease 2 s) is SIGKILLed mid-job; time until the job, taken
 *   over by a queue here, completes: with PostgreSQL's default 2 s poll vs a 50 ms poll
 *   (baseline: the lease alone).
 * Each node is its own `openPostgresDb` (own pool and LISTEN connection) in this process;
 * loopback, fsync off.
 *
 *   bun bench/jobs-cluster.ts [--wakes 50] [--jobs 1000]
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { Type } from "@sinclair/typebox";
import { openPostgresDb, type OpenedPostgres } from "../src/db/pg-client";
import { migratePostgres } from "../src/db/pg-driver";
import { createQueue, defineJobKind, type Queue } from "../src/jobs";
import { startPgCluster } from "../test/pg/cluster";
import { sleepyJob } from "../test/jobs/fixtures/sleepy";
import { numberOpt } from "./lib/args";

const wakes = numberOpt("wakes", 50);
const jobCount = numberOpt("jobs", 1000);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

console.log(`cores ${navigator.hardwareConcurrency}, load average ${load()}`);
const cluster = startPgCluster();
const admin = new SQL({ url: cluster.url, max: 1 });
const opened: OpenedPostgres[] = [];
const queues: Queue[] = [];

async function database(name: string): Promise<string> {
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = cluster.urlFor(name);
  const pool = new SQL({ url, max: 1 });
  await migratePostgres(pool);
  await pool.close();
  return url;
}

async function node(url: string): Promise<OpenedPostgres> {
  const o = await openPostgresDb(url, { poolMax: 6 });
  opened.push(o);
  return o;
}

try {
  // 1. Wake-up latency.
  const started = new Map<string, number>();
  const ping = defineJobKind({
    kind: "ping",
    payload: Type.Object({}),
    timeoutMs: 5_000,
    maxAttempts: 1,
    backoff: { baseMs: 10, maxMs: 10 },
    async handler({ job }) {
      started.set(job.id, performance.now());
    },
  });
  const wakeUrl = await database("wake");
  const a = await node(wakeUrl);
  const b = await node(wakeUrl);
  const measure = async (worker: Queue, via: Queue): Promise<number[]> => {
    worker.start();
    await Bun.sleep(300);
    const out: number[] = [];
    for (let i = 0; i < wakes; i++) {
      const t0 = performance.now();
      const job = await via.enqueue("ping", {});
      while (!started.has(job.id)) await Bun.sleep(1);
      out.push(started.get(job.id)! - t0);
      await Bun.sleep(10);
    }
    await worker.stop();
    return out;
  };
  const local = createQueue({ db: a.db, workerId: "local", pollMs: 30_000, onError: () => {} }).register(ping);
  const sameNode = await measure(local, local);
  const api = createQueue({ db: a.db, workerId: "api", onError: () => {} }).register(ping);
  const remote = createQueue({ db: b.db, workerId: "remote", pollMs: 30_000, onError: () => {} }).register(ping);
  const otherNode = await measure(remote, api);
  console.log(
    `wake-up, enqueue → handler (${wakes} runs, poll 30 s): same node p50 ${ms(pct(sameNode, 0.5))} p95 ${ms(pct(sameNode, 0.95))}; ` +
      `other node (NOTIFY) p50 ${ms(pct(otherNode, 0.5))} p95 ${ms(pct(otherNode, 0.95))} max ${ms(pct(otherNode, 1))}; ratio p50 ${(pct(otherNode, 0.5) / pct(sameNode, 0.5)).toFixed(2)}×`,
  );

  // 2. Drain: one queue vs two nodes.
  const drain = async (name: string, nodes: number) => {
    const url = await database(name);
    const dbs = await Promise.all(Array.from({ length: nodes }, () => node(url)));
    const runs = new Map<string, number>();
    const work = defineJobKind({
      kind: "work",
      payload: Type.Object({}),
      timeoutMs: 5_000,
      maxAttempts: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      async handler({ job }) {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      },
    });
    const qs = dbs.map((d, i) => createQueue({ db: d.db, workerId: `${name}-${i}`, concurrency: 4, onError: () => {} }).register(work));
    queues.push(...qs);
    for (let from = 0; from < jobCount; from += 200)
      await dbs[0]!.db.tx(async (tx) => {
        for (let i = from; i < Math.min(jobCount, from + 200); i++) await qs[0]!.enqueueInTx(tx, "work", {});
      });
    const t0 = performance.now();
    qs.forEach((q) => q.start());
    while (runs.size < jobCount) await Bun.sleep(5);
    const elapsed = performance.now() - t0;
    await Promise.all(qs.map((q) => q.stop()));
    const doubled = [...runs.values()].filter((n) => n !== 1).length;
    return { elapsed, doubled };
  };
  const one = await drain("drain1", 1);
  const two = await drain("drain2", 2);
  console.log(
    `drain ${jobCount} zero-work jobs: 1 node ${ms(one.elapsed)} (${((jobCount / one.elapsed) * 1000).toFixed(0)}/s); ` +
      `2 nodes ${ms(two.elapsed)} (${((jobCount / two.elapsed) * 1000).toFixed(0)}/s, ratio ${(one.elapsed / two.elapsed).toFixed(2)}×); run twice: ${one.doubled} / ${two.doubled}`,
  );

  // 3. Takeover after a SIGKILL.
  const takeover = async (name: string, pollMs?: number) => {
    const url = await database(name);
    const n = await node(url);
    const q = createQueue({ db: n.db, workerId: `${name}-survivor`, pollMs, leaseMs: 2_000, onError: () => {} }).register(sleepyJob(2));
    queues.push(q);
    const job = await q.enqueue("sleepy", { hangOnAttempts: [1] });
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../test/jobs/fixtures/worker.ts"), url, `${name}-victim`, "2000", "2"], { stdout: "ignore", stderr: "inherit" });
    while ((await q.get(job.id))?.progress !== 50) await Bun.sleep(10);
    q.start();
    proc.kill("SIGKILL");
    const t0 = performance.now();
    await proc.exited;
    const done = await q.waitFor(job.id, 20_000);
    return { ms: performance.now() - t0, attempts: done.attempts, status: done.status };
  };
  const fast = await takeover("takeover_fast", 50);
  const dflt = await takeover("takeover_default");
  console.log(
    `takeover after SIGKILL (lease 2 s): poll 50 ms ${ms(fast.ms)} (${fast.status}, attempts ${fast.attempts}); default poll (2 s) ${ms(dflt.ms)} (${dflt.status}, attempts ${dflt.attempts}); ratio ${(dflt.ms / fast.ms).toFixed(2)}×`,
  );
  console.log(`load average after: ${load()}`);
} finally {
  for (const q of queues) await q.stop({ timeoutMs: 0 }).catch(() => {});
  for (const o of opened) await o.close().catch(() => {});
  await admin.close();
  cluster.stop();
}
