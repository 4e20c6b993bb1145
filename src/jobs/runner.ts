/**
 * Runs one claimed attempt of a job: builds the handler context, keeps the lease alive on
 * a timer (which is also how a cancel requested by another process arrives), enforces the
 * kind's timeout, and turns the outcome into the next state — completed, retried after
 * backoff, failed with a code and stage, cancelled, or requeued on shutdown. Finalising
 * does not wait for a handler that ignores its aborted signal; its late writes are dropped.
 */
import { Value } from "@sinclair/typebox/value";
import { isAppError } from "../errors";
import { backoffDelay, NonRetriableError, RetryAfterError } from "./errors";
import type { JobStore } from "./store";
import type { AttemptOutcome, JobContext, JobFailure, JobKind, JobRow } from "./types";
import type { JobFailureCode } from "./failure-codes";

export type StopReason = "cancel" | "timeout" | "shutdown" | "lease_lost";

export interface RunSettings {
  owner: string;
  leaseMs: number;
  heartbeatMs: number;
  /** Called synchronously once this attempt's outcome is written (frees the slot). */
  onSettled?: () => void;
  /**
   * A heartbeat or the final write failed (the database refused it). The run still frees
   * its slot; a job whose outcome could not be written keeps its lease until it expires
   * and is then claimed again, like a job of a crashed worker.
   */
  onError?: (error: unknown, where: "heartbeat" | "finalize") => void;
  /** The attempt's outcome and duration, once written. */
  onAttempt?: (attempt: AttemptOutcome) => void;
  /** The job was requeued to run again in `delayMs` (a retry after backoff): the queue looks again then, not at its next poll. */
  onRetryIn?: (delayMs: number) => void;
}

export interface RunHandle {
  job: JobRow;
  kind: string;
  /** Resolves once the job's state for this attempt is written (not when the handler returns). */
  done: Promise<void>;
  stop(reason: StopReason): void;
}

type Outcome = { type: "ok"; value: unknown } | { type: "error"; error: unknown } | { type: "stopped"; reason: StopReason };

export function runJob(store: JobStore, def: JobKind, job: JobRow, s: RunSettings): RunHandle {
  const controller = new AbortController();
  let finished = false;
  let stage = job.stage ?? undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const live = () => !finished;
  // The handler's progress and log writes, one after another and before the outcome: on
  // PostgreSQL transactions run concurrently, so the order is kept here, not by a write gate.
  let writes: Promise<void> = Promise.resolve();
  const inOrder = (write: () => Promise<void>) => {
    writes = writes.then(write).catch((e) => s.onError?.(e, "heartbeat"));
  };
  const startedAt = performance.now();

  const renew = async () => {
    if (finished) return;
    let lease;
    try {
      lease = await store.renew(job.id, s.owner, s.leaseMs);
    } catch (e) {
      // A missed heartbeat is not fatal: the lease is longer than several heartbeats.
      s.onError?.(e, "heartbeat");
      return;
    }
    if (!lease) stop("lease_lost");
    else if (lease.cancelRequested) stop("cancel");
  };
  const heartbeat = setInterval(renew, s.heartbeatMs);
  const timeout = setTimeout(() => stop("timeout"), def.timeoutMs);

  function stop(reason: StopReason) {
    if (finished) return;
    controller.abort(new Error(reason === "timeout" ? `timed out after ${def.timeoutMs} ms` : reason === "cancel" ? "job cancelled" : `job stopped: ${reason}`));
    settle({ type: "stopped", reason });
  }

  async function settle(outcome: Outcome) {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    clearTimeout(timeout);
    let result: AttemptOutcome["outcome"] | undefined;
    try {
      await writes;
      result = await finalize(store, def, job, s.owner, outcome, stage, s.onRetryIn);
    } catch (e) {
      s.onError?.(e, "finalize");
    } finally {
      s.onSettled?.();
      resolveDone();
    }
    if (result) s.onAttempt?.({ kind: def.kind, outcome: result, ms: performance.now() - startedAt });
  }

  const ctx: JobContext = {
    job,
    payload: job.payload,
    attempt: job.attempts,
    signal: controller.signal,
    log(level, message, data) {
      // Fire and forget, in order; a late report is dropped by its lease condition.
      if (live()) inOrder(() => store.report(job.id, s.owner, { type: "log", level, message, data }));
    },
    progress(pct, newStage) {
      if (!live()) return;
      const p = Math.max(0, Math.min(100, Math.round(pct)));
      if (newStage !== undefined) stage = newStage;
      const data = { progress: p, stage: stage ?? null };
      inOrder(() => store.report(job.id, s.owner, { type: "progress", message: newStage, data }, { pct: p, stage: newStage }));
    },
    heartbeat: () => void renew(),
  };

  queueMicrotask(() => {
    if (!Value.Check(def.payload, job.payload)) {
      const errors = [...Value.Errors(def.payload, job.payload)].slice(0, 5).map((e) => `${e.path || "/"}: ${e.message}`);
      return settle({ type: "error", error: new NonRetriableError("invalid_payload", `payload no longer matches ${def.kind}: ${errors.join("; ")}`) });
    }
    Promise.resolve()
      .then(() => def.handler(ctx))
      .then(
        (value) => settle({ type: "ok", value }),
        (error) => settle({ type: "error", error }),
      );
  });
  return { job, kind: def.kind, done, stop };
}

/** Writes the attempt's outcome; returns what it was. */
async function finalize(store: JobStore, def: JobKind, job: JobRow, owner: string, outcome: Outcome, stage: string | undefined, onRetryIn?: (delayMs: number) => void): Promise<AttemptOutcome["outcome"]> {
  const attempt = job.attempts;
  if (outcome.type === "ok") {
    await store.finish(job.id, owner, "completed", { result: outcome.value ?? null, progress: 100 });
    return "completed";
  }
  if (outcome.type === "stopped") {
    if (outcome.reason === "lease_lost") return "lost"; // another worker owns the job now
    if (outcome.reason === "cancel") {
      await store.finish(job.id, owner, "cancelled", {}, { reason: "cancelled while running" });
      return "cancelled";
    }
    if (outcome.reason === "shutdown") {
      if (attempt < job.maxAttempts) {
        await store.finish(job.id, owner, "queued", { runAt: store.now() }, { reason: "interrupted by shutdown" });
        return "requeued";
      }
      await store.finish(job.id, owner, "failed", { failure: { code: "interrupted", message: `interrupted by shutdown (attempt ${attempt} of ${job.maxAttempts})`, stage } });
      return "failed";
    }
  }
  const error = outcome.type === "error" ? outcome.error : new Error(`attempt ${attempt} timed out after ${def.timeoutMs} ms`);
  const failure = describe(error, outcome.type === "stopped" ? "timeout" : undefined, stage);
  if (error instanceof NonRetriableError) {
    await store.finish(job.id, owner, "failed", { failure });
    return "failed";
  }
  if (attempt >= job.maxAttempts) {
    await store.finish(job.id, owner, "failed", { failure: { ...failure, message: `${failure.message} (after ${attempt} attempt${attempt === 1 ? "" : "s"})` } });
    return "failed";
  }
  const delay = error instanceof RetryAfterError ? error.delayMs : backoffDelay(attempt, def.backoff);
  const requeued = await store.finish(
    job.id,
    owner,
    "queued",
    { runAt: store.now() + delay },
    { retryInMs: delay, error: failure },
    { type: "log", level: "warn", message: `attempt ${attempt} of ${job.maxAttempts} failed (${failure.code}: ${failure.message}); retrying in ${delay} ms` },
  );
  if (requeued) onRetryIn?.(delay);
  return "retried";
}

function describe(error: unknown, code: JobFailureCode | undefined, stage: string | undefined): JobFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NonRetriableError) return { code: error.code, message, stage: error.stage ?? stage };
  if (code) return { code, message, stage };
  if (isAppError(error)) return { code: error.code, message, stage };
  return { code: "job_failed", message, stage };
}
