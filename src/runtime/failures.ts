/**
 * Maps a runtime failure reason to the platform error the rest of cantrip understands:
 * timeouts are endpoint_timeout (504), overloaded is sandbox_busy (503, Retry-After),
 * everything else endpoint_unreachable (502), with the precise reason in details.reason.
 * `worker_restarted` marks a bystander: a call lost because its worker was killed for
 * another call's sake; the runtime re-runs such calls when that is safe (replay.ts).
 */
import { AppError } from "../errors";
import type { GuestLogLine, RuntimeFailureReason } from "./types";

export function failure(reason: RuntimeFailureReason, message: string, extra: { logs?: GuestLogLine[]; cause?: unknown } = {}): AppError {
  const code = reason === "cpu_timeout" || reason === "wall_timeout" ? "endpoint_timeout" : reason === "overloaded" ? "sandbox_busy" : "endpoint_unreachable";
  const details = extra.logs?.length ? { reason, logs: extra.logs } : { reason };
  return new AppError(code, message, { details, cause: extra.cause, headers: reason === "overloaded" ? { "retry-after": "1" } : undefined });
}

export function failureReason(e: unknown): RuntimeFailureReason | undefined {
  const d = (e as { details?: { reason?: RuntimeFailureReason } } | null)?.details;
  return d?.reason;
}

/** What a call on a killed worker gets when another call (the culprit) caused the kill. */
export const BYSTANDER_MESSAGE = "The sandbox worker was restarted after another call exceeded its limits.";
