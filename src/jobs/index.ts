/**
 * The job queue: durable jobs in SQLite with leases, heartbeats, retries with backoff,
 * timeouts, cancellation and restart recovery. Job kinds are a catalogue registered on
 * the queue; handlers steer retries by throwing NonRetriableError or RetryAfterError.
 */
export { createQueue, isTerminal, type Queue } from "./queue";
export { NonRetriableError, RetryAfterError, backoffDelay } from "./errors";
export { echoJob } from "./kinds/echo";
export type { JobFailureCode, JobOnlyFailureCode } from "./failure-codes";
export {
  defineJobKind,
  TERMINAL_STATUSES,
  type Clock,
  type EnqueueOptions,
  type Executor,
  type JobContext,
  type JobEventRow,
  type JobFailure,
  type JobKind,
  type JobRow,
  type JobStatus,
  type LogLevel,
  type QueueOptions,
  type AttemptOutcome,
} from "./types";
