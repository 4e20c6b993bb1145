/**
 * What HTTP routes need from the job queue: enqueue inside a transaction, read a job and
 * its events, subscribe to new events (SSE), cancel. src/jobs satisfies it.
 */
import type { Tx } from "../db";
import type { jobEvents, jobs } from "../db/schema";

export type JobRow = typeof jobs.$inferSelect;
export type JobEventRow = typeof jobEvents.$inferSelect;

export interface JobsPort {
  /** Enqueues inside `tx`; `meta.id` is a caller-chosen id (enqueueing an existing id returns that job, nothing new). */
  enqueueInTx(tx: Tx, kind: string, payload: unknown, meta: { workspaceId?: string; agentId?: string; id?: string }): Promise<{ id: string }>;
  get(jobId: string): Promise<JobRow | undefined>;
  events(jobId: string, afterId?: number): Promise<JobEventRow[]>;
  /**
   * New events of the job as they are committed, in id order, whichever node runs it (on
   * PostgreSQL they arrive through the bus and a catch-up read of job_events: src/jobs/events.ts).
   * Subscribe first, then read the backlog and skip ids already seen.
   */
  subscribe(jobId: string, listener: (e: JobEventRow) => void): () => void;
  cancel(jobId: string): Promise<JobRow | undefined>;
}

export const TERMINAL = new Set(["completed", "failed", "cancelled"]);
