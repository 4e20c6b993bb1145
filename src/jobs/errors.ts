/**
 * How handlers steer the retry policy: throw NonRetriableError to fail the job at once
 * with a code (and the stage it failed in), or RetryAfterError to retry after a given
 * delay instead of the kind's backoff. Any other error is retried with backoff until
 * maxAttempts, then fails the job.
 */
import type { JobFailureCode } from "./failure-codes";

export class NonRetriableError extends Error {
  constructor(
    readonly code: JobFailureCode,
    message: string,
    readonly stage?: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "NonRetriableError";
  }
}

export class RetryAfterError extends Error {
  constructor(
    readonly delayMs: number,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "RetryAfterError";
  }
}

/** Delay before the retry that follows failed attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, backoff: { baseMs: number; maxMs: number }): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
}
