/**
 * The dashboard's only way to the server: the public HTTP API with the platform token from
 * localStorage as `Authorization: Bearer`. Both API families' error envelopes carry
 * `error.code`, so every failure becomes one ApiError; a 401 on a platform route signs out.
 */
const TOKEN_KEY = "cantrip.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export const session = {
  get token(): string | null {
    return localStorage.getItem(TOKEN_KEY);
  },
  signIn(token: string): void {
    localStorage.setItem(TOKEN_KEY, token);
  },
  signOut(): void {
    localStorage.removeItem(TOKEN_KEY);
  },
  /** Set by the router: called when the server no longer accepts the token. */
  onExpired: (_message: string) => {},
};

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Use this bearer instead of the stored platform token (sign-in check, agent keys). */
  bearer?: string | null;
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function errorOf(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return new ApiError(status, e?.code ?? `http_${status}`, e?.message ?? (typeof body === "string" && body ? body : `HTTP ${status}`), body);
}

/** A raw call: returns status and parsed body without throwing on HTTP errors. */
export async function call(path: string, opts: CallOptions = {}): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  const bearer = opts.bearer === undefined ? session.token : opts.bearer;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(path, { method: opts.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  return { status: res.status, body: await parse(res) };
}

/** A platform-token call that returns the envelope's `data` or throws ApiError. */
export async function api<T = any>(path: string, opts: CallOptions = {}): Promise<T> {
  const { status, body } = await call(path, opts);
  if (status >= 200 && status < 300) return (body as { data: T }).data;
  const err = errorOf(status, body);
  if (status === 401 && err.code === "unauthorized" && opts.bearer === undefined) session.onExpired("Your session has expired or the token was revoked. Sign in again.");
  throw err;
}

/** Like api() but returns the whole body (for lists with nextCursor). */
export async function apiPage<T = any>(path: string): Promise<{ data: T[]; nextCursor: string | null }> {
  const { status, body } = await call(path);
  if (status >= 200 && status < 300) {
    const b = body as { data: T[]; nextCursor?: string | null; next_cursor?: string | null };
    return { data: b.data, nextCursor: b.nextCursor ?? b.next_cursor ?? null };
  }
  const err = errorOf(status, body);
  if (status === 401 && err.code === "unauthorized") session.onExpired("Your session has expired or the token was revoked. Sign in again.");
  throw err;
}
