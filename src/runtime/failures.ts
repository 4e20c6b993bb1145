/**
 * Maps a runtime failure reason to the platform error the rest of cantrip understands:
 * timeouts are endpoint_timeout (504), a full sandbox memory budget is
 * sandbox_memory_exhausted (503, Retry-After), overloaded is sandbox_busy (503,
 * Retry-After), a response that is not valid HTTP is bad_response (502), everything else
 * endpoint_unreachable (502), with the precise reason in details.reason. The guest's
 * console lines of a failed call ride along on the error (failureLogs), never in
 * `details`: details are rendered to callers, logs are not. `worker_restarted` marks a
 * bystander: a call lost because its worker was killed for another call's sake; the
 * runtime re-runs such calls when that is safe (replay.ts).
 */
import { AppError } from "../errors";
import type { GuestLogLine, RuntimeFailureReason } from "./types";

const LOGS = Symbol("cantrip.guestLogs");

export function failure(reason: RuntimeFailureReason, message: string, extra: { logs?: GuestLogLine[]; cause?: unknown } = {}): AppError {
  const code =
    reason === "cpu_timeout" || reason === "wall_timeout"
      ? "endpoint_timeout"
      : reason === "memory_budget"
        ? "sandbox_memory_exhausted"
        : reason === "overloaded"
          ? "sandbox_busy"
          : reason === "bad_response"
            ? "bad_response"
            : "endpoint_unreachable";
  const retry = reason === "overloaded" || reason === "memory_budget";
  const err = new AppError(code, message, { details: { reason }, cause: extra.cause, headers: retry ? { "retry-after": "1" } : undefined });
  if (extra.logs?.length) Object.defineProperty(err, LOGS, { value: extra.logs, enumerable: false });
  return err;
}

export function failureReason(e: unknown): RuntimeFailureReason | undefined {
  const d = (e as { details?: { reason?: RuntimeFailureReason } } | null)?.details;
  return d?.reason;
}

/** The console lines the guest wrote before its call failed (empty when none were kept). */
export function failureLogs(e: unknown): GuestLogLine[] {
  return ((e && typeof e === "object" && (e as Record<symbol, unknown>)[LOGS]) as GuestLogLine[] | undefined) ?? [];
}

/** What a call on a killed worker gets when another call (the culprit) caused the kill. */
export const BYSTANDER_MESSAGE = "The sandbox worker was restarted after another call exceeded its limits.";
