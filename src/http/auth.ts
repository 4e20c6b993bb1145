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

/**
 * The session cookie's value in a request, or null. Two session cookies in one request
 * mean another page on this host set one (cookies ignore ports, so an app on
 * CANTRIP_APPS_PORT can plant its own valid session at a longer path, which browsers send
 * first: "cookie tossing"). Neither can be trusted to be the user's, so the request is
 * refused with 401 `unauthorized` and `Clear-Site-Data: "cookies"`, which makes the
 * browser drop both: the attack becomes a sign-out, never a swap into another workspace.
 */
export function sessionCookieOf(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) values.push(part.slice(eq + 1).trim());
  }
  if (values.length > 1)
    throw new AppError("unauthorized", "Two dashboard sessions were sent: a page on this host set one of them. Both were cleared; sign in again.", {
      headers: { "clear-site-data": '"cookies"' },
    });
  return values[0] || null;
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
  async principalOf(request: Request): Promise<Principal> {
    const authorization = request.headers.get("authorization");
    if (authorization) return this.tokens.verify(authorization);
    const cookie = sessionCookieOf(request);
    if (!cookie) throw new AppError("unauthorized");
    const session = await this.sessions.verify(cookie);
    const site = request.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin") throw new AppError("csrf_failed", `A session cookie is not accepted from a ${site} request.`);
    const given = request.headers.get(CSRF_HEADER) ?? "";
    if (!given || !constantTimeEqual(given, session.csrfToken)) throw new AppError("csrf_failed");
    return session.principal;
  }
}

export function authPlugin(auth: RequestAuth) {
  return new Elysia({ name: "auth" }).derive({ as: "scoped" }, async ({ request }): Promise<{ principal: Principal }> => ({
    principal: await auth.principalOf(request),
  }));
}
