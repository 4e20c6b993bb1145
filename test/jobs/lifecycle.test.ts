import { expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { AppError } from "../../src/errors";
import { defineJobKind, echoJob, NonRetriableError, RetryAfterError, type JobKind } from "../../src/jobs";
import { count } from "drizzle-orm";
import { jobs } from "../../src/db/schema";
import { cleanupAfterEach, open, queueOn, statuses, until } from "./setup";

cleanupAfterEach();

const flaky = (failures: number, extra: Partial<JobKind> = {}) => {
  const runs: number[] = [];
  const def = defineJobKind({
    kind: "flaky",
    payload: Type.Object({}),
    timeoutMs: 1_000,
    maxAttempts: 3,
    backoff: { baseMs: 60, maxMs: 1_000 },
    async handler({ attempt }) {
      runs.push(Date.now());
      if (attempt <= failures) throw new Error(`boom ${attempt}`);
      return { attempt };
    },
    ...extra,
  });
  return { def, runs };
};

test("happy path: queued → running → completed with progress and log events", async () => {
  const q = (await queueOn()).register(echoJob);
  const job = await q.enqueue("echo", { message: "hello" }, { agentId: "agent_x" });
  expect(job).toMatchObject({ status: "queued", kind: "echo", attempts: 0, maxAttempts: 3, agentId: "agent_x" });
  const seen: string[] = [];
  q.subscribe(job.id, (e) => seen.push(`${e.type}:${e.message}`));
  q.start();
  const done = await q.waitFor(job.id, 2_000);
  expect(done).toMatchObject({ status: "completed", progress: 100, stage: "echo", attempts: 1, result: { echoed: "hello", attempt: 1 }, leaseOwner: null });
  expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt!);
  const events = await q.events(job.id);
  expect(events.map((e) => `${e.type}:${e.message}`)).toEqual(["status:queued", "status:running", "progress:check", "log:echoing 5 characters", "progress:echo", "status:completed"]);
  expect(events.find((e) => e.type === "progress")!.data).toEqual({ progress: 10, stage: "check" });
  expect(events.find((e) => e.type === "log")!.level).toBe("info");
  // Pushed live, in order. On PostgreSQL a subscriber is fed by a catch-up read after the
  // commit's notification, so the last event can reach it just after waitFor (which also
  // re-reads the job's row) has returned.
  await until(() => seen.length >= events.length - 1, 5_000, "the live subscriber to get the terminal event");
  expect(seen).toEqual(events.slice(1).map((e) => `${e.type}:${e.message}`));
  expect((await q.events(job.id, events[3]!.id)).map((e) => e.id)).toEqual([events[4]!.id, events[5]!.id]);
});

test("retry with exponential backoff, then success", async () => {
  const { def, runs } = flaky(2);
  const q = (await queueOn()).register(def);
  const job = await q.enqueue("flaky", {});
  q.start();
  const done = await q.waitFor(job.id, 3_000);
  expect(done.status).toBe("completed");
  expect(done.attempts).toBe(3);
  expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(55); // 60 ms
  expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(115); // 120 ms
  expect(await statuses(q, job.id)).toEqual(["queued", "running", "queued", "running", "queued", "running", "completed"]);
  const warns = (await q.events(job.id)).filter((e) => e.level === "warn").map((e) => e.message);
  expect(warns).toEqual(["attempt 1 of 3 failed (job_failed: boom 1); retrying in 60 ms", "attempt 2 of 3 failed (job_failed: boom 2); retrying in 120 ms"]);
});

test("retries exhausted: failed with the last error, code and stage", async () => {
  const { def } = flaky(9);
  const q = (await queueOn()).register(def);
  q.start();
  const done = await q.waitFor((await q.enqueue("flaky", {})).id, 3_000);
  expect(done.status).toBe("failed");
  expect(done.attempts).toBe(3);
  expect(done.failure).toEqual({ code: "job_failed", message: "boom 3 (after 3 attempts)" });
});

test("NonRetriableError fails at once with its code and stage; AppError codes are kept", async () => {
  const q = (await queueOn()).register(echoJob);
  q.start();
  const done = await q.waitFor((await q.enqueue("echo", { message: "forbidden" })).id, 2_000);
  expect(done).toMatchObject({ status: "failed", attempts: 1, failure: { code: "invalid_message", message: "this message is never echoed", stage: "check" } });

  const q2 = (await queueOn()).register({ ...flaky(0).def, maxAttempts: 1, handler: async (ctx) => (ctx.progress(40, "bundle"), Promise.reject(new AppError("model_unavailable", "no model"))) });
  q2.start();
  const f = await q2.waitFor((await q2.enqueue("flaky", {})).id, 2_000);
  expect(f.failure).toEqual({ code: "model_unavailable", message: "no model (after 1 attempt)", stage: "bundle" });
  expect(f.progress).toBe(40);
});

test("RetryAfterError sets the delay of the next attempt", async () => {
  const runs: number[] = [];
  const q = (await queueOn()).register({
    ...flaky(0).def,
    backoff: { baseMs: 5_000, maxMs: 5_000 },
    async handler({ attempt }) {
      runs.push(Date.now());
      if (attempt === 1) throw new RetryAfterError(150, "rate limited upstream");
      return "ok";
    },
  });
  q.start();
  const done = await q.waitFor((await q.enqueue("flaky", {})).id, 2_000);
  expect(done).toMatchObject({ status: "completed", result: "ok", attempts: 2 });
  expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(140);
  expect(runs[1]! - runs[0]!).toBeLessThan(1_000);
});

test("payload validation: invalid payload → invalid_request with field details; unknown kind throws", async () => {
  const q = (await queueOn()).register(echoJob);
  let err: any;
  try {
    await q.enqueue("echo", { message: "", delayMs: -1 });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("invalid_request");
  expect(err.details.map((d: { field: string }) => d.field).sort()).toEqual(["delayMs", "message"]);
  expect(() => q.enqueue("nope", {})).toThrow(/unknown job kind/);
  expect(() => q.register(echoJob)).toThrow(/already registered/);
  expect(await q.db.select({ n: count() }).from(jobs)).toEqual([{ n: 0 }]);
});

test("enqueueInTx: the job exists only if the caller's transaction commits; ids are idempotent", async () => {
  const q = (await queueOn()).register(echoJob);
  const conn = await open(q.location); // the caller's own connection, as an HTTP route would have
  expect(
    conn.tx(async (tx) => {
      await q.enqueueInTx(tx, "echo", { message: "rolled back" }, { id: "job_rollback" });
      throw new Error("caller failed");
    }),
  ).rejects.toThrow("caller failed");
  expect(await q.get("job_rollback")).toBeUndefined();
  const id = await conn.tx(async (tx) => (await q.enqueueInTx(tx, "echo", { message: "kept" }, { id: "job_kept" })).id);
  expect((await q.enqueue("echo", { message: "again" }, { id: "job_kept" })).payload).toEqual({ message: "kept" });
  q.start();
  expect((await q.waitFor(id, 2_000)).status).toBe("completed");
});

test("waitFor rejects on timeout with the current status", async () => {
  const q = (await queueOn()).register(echoJob);
  const job = await q.enqueue("echo", { message: "never started" });
  await expect(q.waitFor(job.id, 50)).rejects.toThrow("still queued");
});

test("depth: waiting jobs counted by kind and status, as numbers (PostgreSQL returns count(*) as a string)", async () => {
  const q = (await queueOn()).register(echoJob);
  await q.enqueue("echo", { message: "one" });
  await q.enqueue("echo", { message: "two" });
  expect(await q.depth()).toEqual([{ kind: "echo", status: "queued", count: 2 }]);
});

test("a retry runs when its backoff ends, not at the next poll", async () => {
  const { def, runs } = flaky(1, { backoff: { baseMs: 100, maxMs: 100 } });
  const q = (await queueOn(undefined, { pollMs: 20_000 })).register(def);
  q.start();
  const done = await q.waitFor((await q.enqueue("flaky", {})).id, 3_000);
  expect(done).toMatchObject({ status: "completed", attempts: 2 });
  expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(95);
  expect(runs[1]! - runs[0]!).toBeLessThan(2_000);
});
