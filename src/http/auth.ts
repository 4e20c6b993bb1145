/**
 * Guards for control routes. A caller is one workspace's principal by either of two means:
 * `Authorization: Bearer ctp_pt_...` (CLI, scripts; it wins when present), or the
 * dashboard's session cookie together with its `X-CSRF-Token` header from a same-origin
 * page (see src/auth/dashboard-sessions.ts). The principal is resolved before validation
 * or the handler run.
 */
import { Elysia } from "elysia";
import { SESSION_COOKIE, type DashboardSessions, type PlatformTokenVerifier, type Principal } from "../auth";
import { AppError } from "../errors";
import { constantTimeEqual } from "../lib/hash";

/** The header a cookie-authenticated call carries its session's CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";

/** The session cookie's value in a request, or null. */
export function sessionCookieOf(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  return new Bun.CookieMap(header).get(SESSION_COOKIE) || null;
}

export class RequestAuth {
  constructor(
    readonly tokens: PlatformTokenVerifier,
    readonly sessions: DashboardSessions,
  ) {}

  /**
   * The caller's principal; throws `unauthorized` (no or bad credentials) or `csrf_failed`
   * (a valid session cookie without its CSRF token, or sent by another site: Fetch
   * Metadata's Sec-Fetch-Site, when the browser sends it, must be same-origin).
   */
  principalOf(request: Request): Principal {
    const authorization = request.headers.get("authorization");
    if (authorization) return this.tokens.verify(authorization);
    const cookie = sessionCookieOf(request);
    if (!cookie) throw new AppError("unauthorized");
    const session = this.sessions.verify(cookie);
    const site = request.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin") throw new AppError("csrf_failed", `A session cookie is not accepted from a ${site} request.`);
    const given = request.headers.get(CSRF_HEADER) ?? "";
    if (!given || !constantTimeEqual(given, session.csrfToken)) throw new AppError("csrf_failed");
    return session.principal;
  }
}

export function authPlugin(auth: RequestAuth) {
  return new Elysia({ name: "auth" }).derive({ as: "scoped" }, ({ request }): { principal: Principal } => ({
    principal: auth.principalOf(request),
  }));
}
