/**
 * The codes a background job fails with (`jobs.failure.code`, `agents.failure.code`,
 * `conversations.failure.code`). A job failure is not an HTTP answer: a failed generation is
 * not a 400, so it is not an `AppError`. Codes of the error catalogue (src/errors/catalogue.ts)
 * may also appear, when a job stops on a platform error (e.g. `model_unavailable`, or
 * `build_failed` when the code does not compile); the codes here are the ones only jobs use.
 * docs/API-NOTES.md lists them for clients.
 */
import type { ErrorCode } from "../errors";

export type JobOnlyFailureCode =
  /** A generated backend still failed its checks (worked examples, invalid inputs) after every repair. */
  | "validation_failed"
  /** The model's pre-deploy review of a conversation build found problems (nothing was deployed). */
  | "review_failed"
  /** A handler threw an ordinary error on its last attempt. */
  | "job_failed"
  /** The process stopped, restarted or lost the job's lease while it ran. */
  | "interrupted"
  /** An attempt ran longer than its kind's timeoutMs. */
  | "timeout"
  /** Someone cancelled the job (POST …/cancel) before it finished. */
  | "cancelled"
  /** The stored payload no longer matches its kind's schema (e.g. after an upgrade). */
  | "invalid_payload"
  /** The echo kind's refusal (a test fixture of the queue). */
  | "invalid_message";

/** Every code a job failure can carry: the job-only codes and the catalogue's. */
export type JobFailureCode = JobOnlyFailureCode | ErrorCode;
