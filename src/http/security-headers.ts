/**
 * The platform's baseline response headers. Every response cantrip itself produces (API
 * JSON, errors, SSE, downloads, pages) gets a Content-Security-Policy with
 * `frame-ancestors 'none'`, `X-Frame-Options: DENY`, `nosniff` and
 * `Cross-Origin-Resource-Policy: same-origin`, unless the route set its own. The dashboard,
 * Swagger UI and the try-it page set page-specific policies that also forbid framing, plus
 * `Cross-Origin-Opener-Policy: same-origin`, so a page that opened them keeps no handle on
 * their window. Tenant responses from /apps are left alone: their headers come from the
 * gateway's header policy (src/gateway/app-headers.ts).
 */
import { isTenantResponse } from "../gateway/app-headers";

/** For responses that are not pages: nothing may load, run, or frame them. */
export const BASELINE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * A Headers object with `headers` and the baseline applyBaseline() would add, for a route
 * that answers many responses alike to pass as their `init.headers` (Bun copies it into
 * each response; building a response's headers from a literal and completing them one by one
 * cost ~0.5 µs more per response, issue 15). The caller must not change it afterwards.
 */
export function withBaseline(headers: Record<string, string>): Headers {
  const h = new Headers(headers);
  applyBaselineTo(h);
  return h;
}

/** Adds the baseline to `res.headers` where a route did not set its own (mutates `res`). */
export function applyBaseline(res: Response): void {
  if (isTenantResponse(res)) return;
  applyBaselineTo(res.headers);
}

function applyBaselineTo(h: Headers): void {
  if (!h.has("content-security-policy")) h.set("content-security-policy", BASELINE_CSP);
  if (!h.has("x-frame-options")) h.set("x-frame-options", "DENY");
  h.set("x-content-type-options", "nosniff");
  // No other origin may embed the platform's responses (Fetch standard, CORP check).
  if (!h.has("cross-origin-resource-policy")) h.set("cross-origin-resource-policy", "same-origin");
}
