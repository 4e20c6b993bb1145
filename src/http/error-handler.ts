/**
 * The one place errors become HTTP responses: AppErrors keep their catalogue code,
 * Elysia's own errors are mapped (PARSE → invalid_json, VALIDATION → invalid_request with
 * per-field details, NOT_FOUND → JSON 404), and anything else is an internal_error that
 * is logged with the request id and never leaks a stack trace.
 */
import { ValueErrorType } from "@sinclair/typebox/errors";
import { AppError, isAppError, type FieldIssue } from "../errors";
import { errorResponse, familyOf } from "./envelope";
import { requestIdOf } from "./request-context";
import type { Logger } from "./logger";

interface ElysiaValidationIssue {
  path: string;
  message: string;
  summary?: string;
  type: number;
}

export function toAppError(code: string | number, error: unknown, logger: Logger, requestId: string): AppError {
  if (isAppError(error)) return error;
  if (code === "PARSE") return new AppError("invalid_json");
  if (code === "NOT_FOUND") return new AppError("not_found");
  if (code === "VALIDATION") {
    const e = error as { type?: string; all?: ElysiaValidationIssue[] };
    const where = e.type === "body" ? "" : `${e.type ?? ""}.`;
    const issues: FieldIssue[] = (e.all ?? []).map((i) => ({
      field: where + (i.path.replace(/^\//, "").replace(/\//g, ".") || (e.type ?? "body")),
      rule: ValueErrorType[i.type] ?? "Invalid",
      message: i.summary ?? i.message,
    }));
    const msg = issues.length ? issues.map((i) => `${i.field}: ${i.message}`).join("; ") : "The request failed validation.";
    return new AppError("invalid_request", msg, { details: issues });
  }
  if (code === "INVALID_COOKIE_SIGNATURE" || code === "INVALID_FILE_TYPE") return new AppError("invalid_request");
  logger.error("unhandled error", { requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return new AppError("internal_error", `Internal error (request ${requestId}).`);
}

export function renderError(code: string | number, error: unknown, request: Request, logger: Logger): Response {
  const requestId = requestIdOf(request);
  const pathname = new URL(request.url).pathname;
  return errorResponse(familyOf(pathname), toAppError(code, error, logger, requestId), requestId);
}
