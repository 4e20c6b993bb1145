/**
 * The two public API families render results and errors differently. `/api/v1/*` is the
 * builder-conversation family ({success, data} / {success:false, error}); everything
 * else uses the control-API envelope ({data} / {error:{code, message, details, requestId}}).
 */
import type { AppError } from "../errors";

export type Family = "control" | "builder";

export function familyOf(pathname: string): Family {
  return pathname.startsWith("/api/v1/") || pathname === "/api/v1" ? "builder" : "control";
}

export function errorBody(family: Family, err: AppError, requestId: string): unknown {
  if (family === "builder") {
    return {
      success: false,
      error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }), requestId },
    };
  }
  return {
    error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }), requestId },
  };
}

export function errorResponse(family: Family, err: AppError, requestId: string): Response {
  const headers = new Headers({ "content-type": "application/json; charset=utf-8", ...err.headers });
  return new Response(JSON.stringify(errorBody(family, err, requestId)), { status: err.status, headers });
}

/** Builder-family success envelope. */
export function ok<T>(data: T, message?: string): { success: true; message?: string; data: T } {
  return message === undefined ? { success: true, data } : { success: true, message, data };
}
