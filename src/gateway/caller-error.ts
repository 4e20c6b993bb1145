/**
 * What callers of `/v1/invoke` and `/apps` learn when a call fails in the sandbox (threat
 * model, promise 6): a catalogue code, a fixed message per failure reason and the request
 * id — never the guest's console output, its error text or a stack. The full story (the
 * runtime's own message, which may quote the guest, and the console lines) goes to the
 * invocation log under the same request id, for platform-token holders
 * (`GET /v1/agents/{id}/logs`).
 */
import { AppError, isAppError } from "../errors";
import { failureLogs, failureReason } from "../runtime/failures";
import type { GuestLogLine, RuntimeFailureReason } from "../runtime/types";

/** Caller-facing messages; bad_response and overloaded keep theirs (written by the host, no guest text). */
const MESSAGES: Record<Exclude<RuntimeFailureReason, "bad_response" | "overloaded">, string> = {
  cpu_timeout: "The backend exceeded its CPU time limit.",
  wall_timeout: "The backend exceeded its wall-clock time limit.",
  memory_limit: "The backend exceeded its memory limit.",
  crashed: "The backend's sandbox stopped during the call.",
  load_failed: "The backend could not be loaded.",
  worker_restarted: "The backend's sandbox was restarted during the call because of another call, and the call could not be re-run.",
  memory_budget: "The sandbox's memory budget is in use by other calls; retry shortly.",
};

/**
 * The error a caller sees for `e`. Runtime failures (AppErrors with `details.reason`) are
 * rebuilt from their code and reason alone; other AppErrors (key checks, rate limits,
 * invalid_json) are the platform's own and pass unchanged; anything else is rethrown as is
 * and rendered by the HTTP layer as a bare internal_error.
 */
export function callerError(e: unknown): unknown {
  const reason = failureReason(e);
  if (!isAppError(e) || !reason) return e;
  const message = reason === "bad_response" || reason === "overloaded" ? e.message : MESSAGES[reason] ?? e.code;
  // The runtime's error stays as the cause: internal callers (builder QA) may read it; nothing renders it.
  return new AppError(e.code, message, { details: { reason }, headers: e.headers, cause: e });
}

/** The guest's console lines of a failed call plus one line with the runtime's full message, for the invocation log. */
export function failureLogLines(e: unknown): GuestLogLine[] {
  const code = isAppError(e) ? e.code : "internal_error";
  const reason = failureReason(e);
  const text = e instanceof Error ? e.message : String(e);
  return [...failureLogs(e), { level: "error", message: `[cantrip] the call failed: ${code}${reason ? ` (${reason})` : ""}: ${text}`, at: Date.now() }];
}
