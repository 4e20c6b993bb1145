/**
 * Maps a runtime failure reason to the platform error the rest of cantrip understands:
 * timeouts are endpoint_timeout (504), a full sandbox memory budget is
 * sandbox_memory_exhausted (503, Retry-After), everything else endpoint_unreachable (502),
 * with the precise reason in details.reason.
 */
import { AppError } from "../errors";
import type { GuestLogLine, RuntimeFailureReason } from "./types";

export function failure(reason: RuntimeFailureReason, message: string, extra: { logs?: GuestLogLine[]; cause?: unknown } = {}): AppError {
  const code = reason === "cpu_timeout" || reason === "wall_timeout" ? "endpoint_timeout" : reason === "memory_budget" ? "sandbox_memory_exhausted" : "endpoint_unreachable";
  const details = extra.logs?.length ? { reason, logs: extra.logs } : { reason };
  const retry = reason === "overloaded" || reason === "memory_budget";
  return new AppError(code, message, { details, cause: extra.cause, headers: retry ? { "retry-after": "1" } : undefined });
}

export function failureReason(e: unknown): RuntimeFailureReason | undefined {
  const d = (e as { details?: { reason?: RuntimeFailureReason } } | null)?.details;
  return d?.reason;
}
