import { expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineJobKind, echoJob } from "../../src/jobs";
import { aborted, cleanupAfterEach, onPostgres, queueOn, statuses, until } from "./setup";

cleanupAfterEach();

function waiter(opts: { timeoutMs?: number; maxAttempts?: number; ignoreSignal?: boolean } = {}) {
  const seen = { started: 0, abortReasons: [] as string[] };
  const def = defineJobKind({
    kind: "waiter",
    payload: Type.Object({}),
    timeoutMs: opts.timeoutMs ?? 5_000,
    maxAttempts: opts.maxAttempts ?? 1,
    backoff: { baseMs: 10, maxMs: 10 },
    async handler({ signal, progress }) {
      seen.started++;
      progress(30, "waiting");
      signal.addEventListener("abort", () => seen.abortReasons.push(String((signal.reason as Error).message)));
      if (opts.ignoreSignal) return new Promise<never>(() => {});
      return aborted(signal);
    },
  });
  return { def, seen };
}

test("cancel a queued job: cancelled at once, never runs", async () => {
  const q = (await queueOn()).register(echoJob);
  const job = await q.enqueue("echo", { message: "later" }, { runAt: Date.now() + 60_000 });
  q.start();
  const row = (await q.cancel(job.id))!;
  expect(row.status).toBe("cancelled");
  expect(row.finishedAt).not.toBeNull();
  expect(await statuses(q, job.id)).toEqual(["queued", "cancelled"]);
  expect((await q.cancel(job.id))!.status).toBe("cancelled"); // idempotent
  expect(await q.cancel("job_missing")).toBeUndefined();
});

test("cancel a running job: its signal aborts and the job ends cancelled", async () => {
  const { def, seen } = waiter();
  const q = (await queueOn()).register(def);
  const job = await q.enqueue("waiter", {});
  q.start();
  await until(async () => (await q.get(job.id))?.status === "running" && seen.started === 1, 2_000, "running");
  const row = (await q.cancel(job.id))!;
  expect(row.status).toBe("cancelled");
  expect(row.cancelRequested).toBe(true);
  expect(seen.abortReasons).toEqual(["job cancelled"]);
  expect(row.progress).toBe(30);
  expect(await statuses(q, job.id)).toEqual(["queued", "running", "cancelled"]);
  expect(q.running()).toEqual([]);
});

test("cancel from another connection reaches the running worker (SQLite: its heartbeat; PostgreSQL: the bus, at once)", async () => {
  const { def, seen } = waiter();
  const worker = (await queueOn(undefined, { heartbeatMs: 30 })).register(def);
  const api = await queueOn(worker.location); // no kinds, never started: like an API node
  const job = await worker.enqueue("waiter", {});
  worker.start();
  await until(() => seen.started === 1, 2_000, "started");
  // Requested; on SQLite not yet seen by the worker (its next heartbeat reads it); on
  // PostgreSQL the worker may have ended it through job.cancel before the row is read back.
  expect(onPostgres ? ["running", "cancelled"] : ["running"]).toContain((await api.cancel(job.id))!.status);
  const done = await api.waitFor(job.id, 2_000);
  expect(done.status).toBe("cancelled");
  expect(seen.abortReasons).toEqual(["job cancelled"]);
});

test("timeout: the signal aborts and the attempt fails with code timeout; retries apply", async () => {
  const { def, seen } = waiter({ timeoutMs: 80, maxAttempts: 2 });
  const q = (await queueOn()).register(def);
  q.start();
  const t0 = Date.now();
  const done = await q.waitFor((await q.enqueue("waiter", {})).id, 3_000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(160);
  expect(done.status).toBe("failed");
  expect(done.attempts).toBe(2);
  expect(done.failure).toEqual({ code: "timeout", message: "attempt 2 timed out after 80 ms (after 2 attempts)", stage: "waiting" });
  expect(seen.abortReasons).toEqual(["timed out after 80 ms", "timed out after 80 ms"]);
});

test("timeout ends the job even when the handler ignores its signal; its late writes are dropped", async () => {
  const { def, seen } = waiter({ timeoutMs: 60, ignoreSignal: true });
  const q = (await queueOn()).register(def);
  q.start();
  const done = await q.waitFor((await q.enqueue("waiter", {})).id, 2_000);
  expect(done.status).toBe("failed");
  expect(done.failure?.code).toBe("timeout");
  expect(seen.started).toBe(1);
  expect(q.running()).toEqual([]);
});
