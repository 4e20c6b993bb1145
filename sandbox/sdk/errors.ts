/**
 * HttpError and the JSON error envelope every SDK-generated error response uses:
 * `{ "error": { "code", "message", "details"? } }`.
 */
import { Response } from "../shims/body";

const CODES: Record<number, string> = {
  400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
  409: "conflict", 413: "payload_too_large", 422: "unprocessable", 429: "rate_limited", 500: "internal_error",
  502: "bad_gateway", 503: "unavailable", 504: "timeout",
};

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(status: number, message?: string, opts: { code?: string; details?: unknown } = {}) {
    super(message ?? CODES[status] ?? `HTTP ${status}`);
    this.name = "HttpError";
    this.status = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
    this.code = opts.code ?? CODES[this.status] ?? "error";
    this.details = opts.details;
  }
}

export function errorResponse(status: number, code: string, message: string, details?: unknown, headers?: Record<string, string>): Response {
  const error: Record<string, unknown> = { code, message };
  if (details !== undefined) error.details = details;
  return Response.json({ error }, { status, headers });
}
