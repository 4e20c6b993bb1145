/**
 * The dashboard's only way to the server: the public HTTP API, authenticated by the
 * session cookie that `POST /v1/session` sets (HttpOnly: no script can read it) plus the
 * session's CSRF token, which lives only in this page's memory and goes out as
 * `X-CSRF-Token`. Nothing is kept in localStorage or sessionStorage. Both API families'
 * error envelopes carry `error.code`, so every failure becomes one ApiError; a 401 on a
 * platform route signs out.
 */
const CSRF_HEADER = "x-csrf-token";
let csrfToken: string | null = null;

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
  get signedIn(): boolean {
    return csrfToken !== null;
  },
  /** On page load: is the session cookie still good? Picks up its CSRF token if so. */
  async resume(): Promise<boolean> {
    const r = await fetch("/v1/session", { headers: { accept: "application/json" } });
    csrfToken = r.ok ? ((await parse(r)) as { data: { csrfToken: string | null } }).data.csrfToken : null;
    return csrfToken !== null;
  },
  /** Trades a platform token for a session cookie; throws ApiError when it is refused. */
  async signIn(token: string): Promise<void> {
    const r = await fetch("/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
    const body = await parse(r);
    if (!r.ok) throw errorOf(r.status, body);
    csrfToken = (body as { data: { csrfToken: string } }).data.csrfToken;
  },
  async signOut(): Promise<void> {
    csrfToken = null;
    await fetch("/v1/session", { method: "DELETE" }).catch(() => undefined);
  },
  /** Forget the session locally (the server no longer accepts it). */
  forget(): void {
    csrfToken = null;
  },
  /** Set by the router: called when the server no longer accepts the token. */
  onExpired: (_message: string) => {},
};

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Send this bearer instead of the session (agent keys); null sends no credential. */
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
  if (opts.bearer === undefined) {
    if (csrfToken) headers[CSRF_HEADER] = csrfToken;
  } else if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
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
