import { expect, test } from "bun:test";
import { join } from "node:path";
import { jobs } from "../../src/db/schema";
import { eq } from "drizzle-orm";
import type { TestQueue } from "./setup";
import { sleepyJob } from "./fixtures/sleepy";
import { cleanupAfterEach, newDatabase, open, queueOn, statuses, until } from "./setup";

cleanupAfterEach();

const WORKER = join(import.meta.dir, "fixtures/worker.ts");

/** Starts a worker process, waits until it runs `jobId`, then kills it with SIGKILL. */
async function crashWhileRunning(q: TestQueue, file: string, jobId: string, workerId: string, leaseMs: number, maxAttempts: number) {
  const proc = Bun.spawn([process.execPath, WORKER, file, workerId, String(leaseMs), String(maxAttempts)], { stdout: "pipe", stderr: "inherit" });
  try {
    await until(async () => (await q.get(jobId))?.progress === 50, 10_000, "the worker to start the job");
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  const row = (await q.get(jobId))!;
  expect(row.status).toBe("running");
  expect(row.leaseOwner?.startsWith(`${workerId}#`)).toBe(true);
  return row;
}

test("lease expiry: a job whose worker died is picked up by another worker (attempts + 1)", async () => {
  const q = (await queueOn(undefined, { workerId: "node-b", leaseMs: 300 })).register(sleepyJob(3));
  const job = await q.enqueue("sleepy", { hangOnAttempts: [1] });
  const crashed = await crashWhileRunning(q, q.location, job.id, "node-a", 300, 3);
  q.start(); // different workerId: recover() leaves node-a's job alone; only the lease decides
  expect((await q.get(job.id))!.status).toBe("running");
  const done = await q.waitFor(job.id, 4_000);
  expect(done).toMatchObject({ status: "completed", attempts: 2, result: { finishedOnAttempt: 2 } });
  expect(done.finishedAt! - crashed.leaseUntil!).toBeGreaterThanOrEqual(0); // not before the lease passed
  const takeover = (await q.events(job.id)).filter((e) => e.type === "status" && e.message === "running")[1]!;
  expect(takeover.data).toMatchObject({ attempt: 2, takenOverFrom: crashed.leaseOwner });
}, 20_000);

test("lease expiry on the last attempt fails the job instead of running it again", async () => {
  // Simulated with an injected clock: a dead worker's row, seen from 10 s in the future.
  const q = (await queueOn(undefined, { clock: { now: () => Date.now() + 10_000 } })).register(sleepyJob(1));
  const job = await q.enqueue("sleepy", { hangOnAttempts: [] });
  await (await open(q.location)).tx((t) => t.update(jobs).set({ status: "running", attempts: 1, leaseOwner: "ghost#1", leaseUntil: Date.now() + 1_000, stage: "plan" }).where(eq(jobs.id, job.id)));
  q.start();
  const done = await q.waitFor(job.id, 2_000);
  expect(done.status).toBe("failed");
  expect(done.failure).toMatchObject({ code: "interrupted", stage: "plan" });
  expect(done.failure!.message).toContain("ghost#1");
});

test("restart: jobs this worker left running are requeued at start and resume", async () => {
  const file = await newDatabase();
  const probe = (await queueOn(file)).register(sleepyJob(3));
  const job = await probe.enqueue("sleepy", { hangOnAttempts: [1] });
  await crashWhileRunning(probe, file, job.id, "node-1", 60_000, 3);
  // Same workerId, new life; the 60 s lease has not expired, so only recover() can free it.
  const q = (await queueOn(file, { workerId: "node-1", leaseMs: 60_000 })).register(sleepyJob(3));
  q.start();
  const done = await q.waitFor(job.id, 3_000);
  expect(done).toMatchObject({ status: "completed", attempts: 2 });
  expect(await statuses(q, job.id)).toEqual(["queued", "running", "queued", "running", "completed"]);
  expect((await q.events(job.id)).some((e) => e.message?.startsWith("interrupted by restart (attempt 1 of 3)"))).toBe(true);
}, 20_000);

test("restart: with no attempts left the job fails with a clear reason", async () => {
  const file = await newDatabase();
  const probe = (await queueOn(file)).register(sleepyJob(1));
  const job = await probe.enqueue("sleepy", { hangOnAttempts: [1] });
  await crashWhileRunning(probe, file, job.id, "node-1", 60_000, 1);
  const q = (await queueOn(file, { workerId: "node-1", leaseMs: 60_000 })).register(sleepyJob(1));
  expect(await q.recover()).toEqual({ requeued: [], failed: [job.id], cancelled: [] });
  expect(await q.get(job.id)).toMatchObject({ status: "failed", failure: { code: "interrupted", message: "interrupted by restart (attempt 1 of 1)", stage: "attempt-1" }, leaseOwner: null });
}, 20_000);

test("graceful stop: waits for running handlers, then requeues the ones that overrun", async () => {
  const file = await newDatabase();
  const q = (await queueOn(file, { workerId: "node-1" })).register(sleepyJob(3));
  const quick = await q.enqueue("sleepy", { hangOnAttempts: [] });
  const stuck = await q.enqueue("sleepy", { hangOnAttempts: [1] });
  q.start();
  await until(async () => (await q.get(stuck.id))?.progress === 50, 2_000, "stuck job running");
  await q.stop({ timeoutMs: 100 });
  expect((await q.get(quick.id))!.status).toBe("completed");
  expect(await q.get(stuck.id)).toMatchObject({ status: "queued", attempts: 1, leaseOwner: null });
  const next = (await queueOn(file, { workerId: "node-1" })).register(sleepyJob(3));
  next.start();
  expect((await next.waitFor(stuck.id, 2_000)).attempts).toBe(2);
});
