/**
 * Short-lived signed tokens for URLs that cannot carry headers: SSE streams (EventSource)
 * and downloads. Format: base64url(JSON claims) + "." + base64url(HMAC-SHA256). Bound to
 * one purpose and one subject (a job id or an agent id), with an expiry.
 */
import { createHmac } from "node:crypto";
import { AppError } from "../errors";
import { constantTimeEqual } from "../lib/hash";

export type TokenPurpose = "stream" | "download";

interface Claims {
  p: TokenPurpose;
  s: string;
  w: string;
  e: number;
}

export class TokenSigner {
  constructor(private key: Uint8Array) {}

  sign(purpose: TokenPurpose, subject: string, workspaceId: string, ttlMs: number, now = Date.now()): { token: string; expiresAt: number } {
    const claims: Claims = { p: purpose, s: subject, w: workspaceId, e: now + ttlMs };
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return { token: `${body}.${this.mac(body)}`, expiresAt: claims.e };
  }

  /** Returns the workspace id the token was minted for; throws invalid_stream_token. */
  verify(token: string | null | undefined, purpose: TokenPurpose, subject: string, now = Date.now()): string {
    const fail = () => new AppError("invalid_stream_token");
    if (!token) throw fail();
    const [body, mac] = token.split(".");
    if (!body || !mac || !constantTimeEqual(mac, this.mac(body))) throw fail();
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Claims;
    } catch {
      throw fail();
    }
    if (claims.p !== purpose || claims.s !== subject || claims.e < now) throw fail();
    return claims.w;
  }

  private mac(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }
}
