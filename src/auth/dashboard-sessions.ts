/**
 * Dashboard sessions: the browser never holds the platform token. Signing in trades the
 * token for a signed session in an HttpOnly, SameSite=Strict cookie scoped to the API's
 * paths (/v1 and /api/v1, never / or /apps), so no script on any origin can read it, and
 * tenant pages under /apps on the same host are not even sent it. A cookie alone proves
 * nothing: every cookie-authenticated call must also carry the session's CSRF token
 * (synchronizer token, OWASP CSRF cheat sheet), which only a same-origin script can learn
 * from `GET /v1/session` (cantrip sends no CORS headers). Revoking the platform token ends
 * its sessions at once; signing out clears the cookies.
 */
import { createHmac, randomBytes } from "node:crypto";
import { AppError } from "../errors";
import { constantTimeEqual } from "../lib/hash";
import { SESSION_COOKIE } from "./cookie-names";
import type { PlatformTokenVerifier, Principal } from "./platform-tokens";

/** The paths the session cookie is sent to (RFC 6265 §5.1.4 path-match). */
export const SESSION_COOKIE_PATHS = ["/v1", "/api/v1"] as const;

export interface SessionOptions {
  /** Session lifetime in milliseconds. */
  ttlMs: number;
  /** Mark the cookie Secure (the public URL is https). */
  secure: boolean;
}

interface Claims {
  /** platform token id */
  t: string;
  w: string;
  e: number;
  /** random, so two sessions of one token differ */
  n: string;
}

export interface OpenedSession {
  principal: Principal;
  /** Set-Cookie values, one per path. */
  cookies: string[];
  csrfToken: string;
  expiresAt: number;
}

export class DashboardSessions {
  constructor(
    private tokens: PlatformTokenVerifier,
    private key: Uint8Array,
    private opts: SessionOptions,
  ) {}

  /** Verifies a raw platform token and mints a session for it; throws `unauthorized`. */
  async open(rawToken: string, now = Date.now()): Promise<OpenedSession> {
    const principal = await this.tokens.verify(`Bearer ${rawToken}`);
    const claims: Claims = { t: principal.tokenId, w: principal.workspaceId, e: now + this.opts.ttlMs, n: randomBytes(9).toString("base64url") };
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const value = `${body}.${this.mac("session", body)}`;
    return { principal, cookies: this.cookies(value, Math.floor(this.opts.ttlMs / 1000)), csrfToken: this.csrfFor(value), expiresAt: claims.e };
  }

  /**
   * The principal of a session cookie value, if its signature and expiry hold and its
   * platform token is still active; throws `unauthorized` otherwise.
   */
  async verify(value: string, now = Date.now()): Promise<{ principal: Principal; csrfToken: string; expiresAt: number }> {
    const fail = () => new AppError("unauthorized", "The dashboard session is invalid or expired. Sign in again.");
    const [body, mac] = value.split(".");
    if (!body || !mac || !constantTimeEqual(mac, this.mac("session", body))) throw fail();
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Claims;
    } catch {
      throw fail();
    }
    if (typeof claims.e !== "number" || claims.e < now || typeof claims.t !== "string") throw fail();
    const principal = await this.tokens.verifyId(claims.t);
    if (!principal || principal.workspaceId !== claims.w) throw fail();
    return { principal, csrfToken: this.csrfFor(value), expiresAt: claims.e };
  }

  /** Set-Cookie values that remove the session cookies. */
  clearCookies(): string[] {
    return this.cookies("", 0);
  }

  private csrfFor(value: string): string {
    return this.mac("csrf", value);
  }

  private cookies(value: string, maxAge: number): string[] {
    return SESSION_COOKIE_PATHS.map((path) =>
      new Bun.Cookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: "strict", path, maxAge, secure: this.opts.secure }).serialize(),
    );
  }

  private mac(label: string, data: string): string {
    return createHmac("sha256", this.key).update(`${label}.`).update(data).digest("base64url");
  }
}
