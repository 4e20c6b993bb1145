/**
 * AppError: the one error type domain code throws for anything a client should see.
 * It carries a catalogue code, a message, optional structured details and headers
 * (Retry-After), and keeps the underlying cause for logs.
 */
import { catalogue, type ErrorCode } from "./catalogue";

export interface FieldIssue {
  field: string;
  rule: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message ?? catalogue[code].message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.status = catalogue[code].status;
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Shorthand for a 400 invalid_request with per-field issues. */
export function invalidRequest(issues: FieldIssue[], message?: string): AppError {
  return new AppError("invalid_request", message ?? issues.map((i) => `${i.field}: ${i.message}`).join("; "), {
    details: issues,
  });
}

/**
 * Field issues from a schema check's errors (TypeBox `Value.Errors`): the JSON pointer
 * becomes a dotted field (`/a/0/b` → `a.0.b`), `root` names the value itself; at most `max`.
 */
export function fieldIssues(errors: Iterable<{ path: string; type: unknown; message: string }>, root: string, max = Infinity): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const e of errors) {
    if (out.length >= max) break;
    out.push({ field: e.path.replace(/^\//, "").replace(/\//g, ".") || root, rule: String(e.type), message: e.message });
  }
  return out;
}
