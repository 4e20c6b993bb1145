/**
 * Maps a runtime failure reason to the platform error the rest of cantrip understands:
 * timeouts are endpoint_timeout (504), everything else endpoint_unreachable (502), with
 * the precise reason in details.reason.
 */
import { AppError } from "../errors";
import type { GuestLogLine, RuntimeFailureReason } from "./types";

export function failure(reason: RuntimeFailureReason, message: string, extra: { logs?: GuestLogLine[]; cause?: unknown } = {}): AppError {
  const code = reason === "cpu_timeout" || reason === "wall_timeout" ? "endpoint_timeout" : "endpoint_unreachable";
  const details = extra.logs?.length ? { reason, logs: extra.logs } : { reason };
  return new AppError(code, message, { details, cause: extra.cause, headers: reason === "overloaded" ? { "retry-after": "1" } : undefined });
}

export function failureReason(e: unknown): RuntimeFailureReason | undefined {
  const d = (e as { details?: { reason?: RuntimeFailureReason } } | null)?.details;
  return d?.reason;
}
