/**
 * The shapes of the job queue: a job kind (payload schema, timeout, retry policy,
 * handler), the context a handler receives, queue options, and the rows it stores. Job
 * kinds are a catalogue: callers register them once at start-up and enqueue by name.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import type { Db, Tx } from "../db";
import type { JobFailureCode } from "./failure-codes";
import type * as schema from "../db/schema";

export type JobRow = typeof schema.jobs.$inferSelect;
export type JobEventRow = typeof schema.jobEvents.$inferSelect;
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/** Why a job failed: `jobs.failure`. */
export interface JobFailure {
  code: JobFailureCode;
  message: string;
  stage?: string;
}

/** An open write transaction (enqueueInTx): src/db's Tx. */
export type Executor = Tx;

export interface Clock {
  now(): number;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface JobContext<P = unknown> {
  job: JobRow;
  payload: P;
  /** 1-based attempt number. */
  attempt: number;
  /** Aborted on cancel, timeout, shutdown or a lost lease; handlers pass it to I/O. */
  signal: AbortSignal;
  /** Appends a `log` job event. */
  log(level: LogLevel, message: string, data?: unknown): void;
  /** Sets jobs.progress (0-100) and stage, and appends a `progress` job event. */
  progress(pct: number, stage?: string): void;
  /** Renews the lease now (the queue also renews it on a timer). */
  heartbeat(): void;
}

export interface JobKind<S extends TSchema = TSchema, R = unknown> {
  kind: string;
  payload: S;
  /** Wall-clock limit of one attempt; the signal is aborted and the attempt fails. */
  timeoutMs: number;
  /** Total attempts, including the first. */
  maxAttempts: number;
  /** Delay before retry n is min(maxMs, baseMs * 2^(n-1)). */
  backoff: { baseMs: number; maxMs: number };
  /** At most this many jobs of this kind run at once in one queue (default: the global limit; 1 with `ownSlots`). */
  concurrency?: number;
  /**
   * Runs in `concurrency` slots of its own, outside the queue's shared limit: for short jobs
   * a caller waits on (a deploy), which must not wait behind long ones holding every shared
   * slot (generations waiting on the model). Issue 15, cold start.
   */
  ownSlots?: boolean;
  /** The value returned is stored as jobs.result. */
  handler(ctx: JobContext<Static<S>>): Promise<R>;
}

/** Identity helper that keeps the payload type flowing into the handler. */
export function defineJobKind<S extends TSchema, R>(def: JobKind<S, R>): JobKind<S, R> {
  return def;
}

export interface QueueOptions {
  db: Db;
  /**
   * Names this node. Unique per live process: on start, running jobs whose lease owner
   * carries this id belong to a previous life of this process and are recovered.
   */
  workerId?: string;
  /** Jobs run at once by this queue (all kinds). Default 2. */
  concurrency?: number;
  /**
   * How often to look for due jobs when nothing wakes the queue (ms): the backstop behind the
   * `job.queued` wake-ups. Default 500 on SQLite, 2000 on PostgreSQL (where every idle node
   * polls the shared database, and enqueues on any node wake it through NOTIFY).
   */
  pollMs?: number;
  /** How long a claim is valid without a heartbeat. Default 30 000. */
  leaseMs?: number;
  /** Lease renewal interval. Default leaseMs / 3. */
  heartbeatMs?: number;
  /** How long stop() waits for running handlers before interrupting them. Default 10 000. */
  stopTimeoutMs?: number;
  clock?: Clock;
  /** Unexpected queue errors (a poll that failed); default: console.error. */
  onError?: (error: unknown, where: string) => void;
  /** Each attempt's outcome as it settles (for metrics): completed, failed, cancelled, retried, requeued, lost. */
  onAttempt?: (attempt: AttemptOutcome) => void;
  /**
   * Whether the last free slot is kept for a workspace with no job running (JobStore.claim),
   * read on every claim. Default: always. Boot passes Tenancy.shared: with one workspace there
   * is nobody to keep it for (src/lib/tenancy.ts).
   */
  reserveSlot?: () => boolean;
}

/** How one attempt of a job ended, and how long it ran (ms). */
export interface AttemptOutcome {
  kind: string;
  outcome: "completed" | "failed" | "cancelled" | "retried" | "requeued" | "lost";
  ms: number;
}

export interface EnqueueOptions {
  workspaceId?: string;
  agentId?: string;
  /** Earliest start (epoch ms). Default now. */
  runAt?: number;
  /** Caller-chosen id; enqueueing an existing id returns the existing job. */
  id?: string;
}
