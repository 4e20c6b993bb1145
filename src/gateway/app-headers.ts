/**
 * The one header policy between a backend and a browser on /apps. A backend's response is
 * tenant content: it may set the headers that describe its own document, never the ones
 * that speak for an origin or a connection the platform owns (service workers' scope, the
 * platform's cookies, HSTS, Alt-Svc, Clear-Site-Data, reporting, hop-by-hop framing). Where
 * tenant content is served from the platform's own origin it is sandboxed into an opaque
 * origin. Requests going the other way lose the platform's credentials. The origin model is
 * in docs/ARCHITECTURE.md ("Origins").
 */
import { PLATFORM_COOKIE_NAMES } from "../auth/cookie-names";

/**
 * Where an app's response is served from:
 * - `platform`: /apps/{slug}/ on the platform's own origin (the dashboard's): sandboxed.
 * - `apps`: /apps/{slug}/ on the apps listener, an origin shared by every app but not the platform.
 * - `own`: {slug}.<apps domain>, an origin that belongs to this app alone.
 */
export type AppOrigin = "platform" | "apps" | "own";

/**
 * CSP for tenant content on the platform's origin: `sandbox` without `allow-same-origin`
 * (HTML spec, "sandboxing flag set") gives the document an opaque origin, so its scripts
 * cannot read the platform origin's storage or cookies, register a service worker or make
 * same-origin requests. Scripts, forms and popups still run so an app's own page works.
 */
export const APP_SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the non-standard ones proxies still honour. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-connection"]);

/** Response fields that act for the whole host or origin, or that the platform computes itself. */
const PLATFORM_OWNED = new Set([
  "content-length", // the platform frames the body
  "x-request-id", // the platform's request id
  "service-worker-allowed", // would widen a service worker's scope past the app (to "/")
  "clear-site-data", // would wipe the platform's cookies and storage (cookies: the whole host)
  "strict-transport-security", // host-wide, and includeSubDomains reaches siblings
  "alt-svc", // redirects the host's future connections elsewhere
  "nel", // network error logging for every later request to the origin
  "report-to",
  "public-key-pins",
  "public-key-pins-report-only",
  "expect-ct",
  "set-cookie2",
]);

/** Also dropped when the app shares the platform's origin: they act for that origin. */
const PLATFORM_ORIGIN_ONLY = new Set([
  "set-cookie", // any cookie set here is a cookie of the platform's origin
  "www-authenticate", // a credentials prompt that looks like the platform's
  "accept-ch", // client hints persist per origin
  "critical-ch",
  "set-login", // FedCM login status of the origin
  "origin-agent-cluster",
]);

const tenant = new WeakSet<Response>();

/** Fetch standard "null body status": a response with one of these has no body. */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** True for a response whose headers were built by `appResponse` (tenant content). */
export function isTenantResponse(res: Response): boolean {
  return tenant.has(res);
}

/** Builds the browser-facing response for a backend's answer (whole, or streamed as the backend produces it), through `appResponseHeaders`. */
export function appResponse(body: Uint8Array | ReadableStream<Uint8Array> | null, status: number, headers: Iterable<readonly [string, string]>, where: { origin: AppOrigin; slug: string }): Response {
  let sent = body instanceof ReadableStream ? body : body && body.byteLength ? (body as Uint8Array<ArrayBuffer>) : null;
  if (sent instanceof ReadableStream && NULL_BODY_STATUS.has(status)) {
    // Fetch: these statuses have no body (the guest's Response refuses one; a forged head may not).
    void sent.cancel("a response with this status has no body").catch(() => {});
    sent = null;
  }
  const res = new Response(sent, { status, headers: appResponseHeaders(headers, where) });
  tenant.add(res);
  return res;
}

/**
 * Filters a backend's response headers (name/value pairs, any case) for `where`. Drops
 * hop-by-hop fields (and any the backend's `Connection` names), the platform-owned fields
 * above, and cookies that could act for the platform (see `cookieAllowed`); adds
 * `X-Content-Type-Options: nosniff`, and on the platform's origin the sandbox CSP (kept as a
 * separate policy next to the backend's own CSP, so it can only narrow what runs).
 */
export function appResponseHeaders(headers: Iterable<readonly [string, string]>, where: { origin: AppOrigin; slug: string }): Headers {
  // Two passes over the pairs as given (no copies per call; issue 15): the fields Connection names, then the filter.
  const pairs = Array.isArray(headers) ? (headers as readonly (readonly [string, string])[]) : [...headers];
  let named: Set<string> | null = null;
  for (const [k, v] of pairs) if (k.length === 10 && k.toLowerCase() === "connection") for (const s of v.split(",")) (named ??= new Set()).add(s.trim().toLowerCase());
  const out = new Headers();
  for (const [name, v] of pairs) {
    const k = name.toLowerCase();
    if (HOP_BY_HOP.has(k) || k.startsWith("proxy-") || named?.has(k) || PLATFORM_OWNED.has(k)) continue;
    if (where.origin === "platform" && PLATFORM_ORIGIN_ONLY.has(k)) continue;
    if (k === "set-cookie" && !cookieAllowed(v, where)) continue;
    out.append(k, v);
  }
  out.set("x-content-type-options", "nosniff");
  if (where.origin === "platform") out.append("content-security-policy", APP_SANDBOX_CSP);
  return out;
}

/**
 * A Set-Cookie a backend may send from its own or the apps origin: not one of the platform's
 * cookie names (with or without a `__Host-`/`__Secure-` prefix), host-only (no `Domain`,
 * which could reach the platform's host or other apps), and on the shared apps origin scoped
 * to the app's own path (RFC 6265 §5.2.4: an absent Path defaults to the request's directory).
 */
export function cookieAllowed(setCookie: string, where: { origin: AppOrigin; slug: string }): boolean {
  if (where.origin === "platform") return false;
  const [pair = "", ...rest] = setCookie.split(";");
  const name = pair.split("=")[0]!.trim().toLowerCase().replace(/^__(host|secure)-/, "");
  if (PLATFORM_COOKIE_NAMES.some((n) => n.toLowerCase() === name)) return false;
  // Attributes as a browser reads them (RFC 6265 §5.2): name and value trimmed around the
  // first "=", names case-insensitive; when Path appears twice the last one counts (§5.3),
  // so every Path must stay inside the app (a check of the first one, or of "Path=" without
  // spaces, let `Path=/apps/me; Path=/` or `Path =/` through).
  const attrs = rest.map((s) => {
    const i = s.indexOf("=");
    return i < 0 ? { name: s.trim().toLowerCase(), value: "" } : { name: s.slice(0, i).trim().toLowerCase(), value: s.slice(i + 1).trim() };
  });
  if (attrs.some((a) => a.name === "domain")) return false;
  if (where.origin === "apps") {
    const own = `/apps/${where.slug}`;
    if (attrs.some((a) => a.name === "path" && a.value !== own && !a.value.startsWith(`${own}/`))) return false;
  }
  return true;
}

/**
 * Request fields a backend never sees: the caller's credentials for the platform, framing,
 * and the caller's `x-request-id` (the gateway adds the platform's one, which is the
 * caller's when it was well-formed; forwarding both gave the backend "id, id").
 */
const REQUEST_DROPPED = new Set(["authorization", "host", "content-length", "x-csrf-token", "x-request-id", ...HOP_BY_HOP]);

/**
 * The caller's request headers as the backend sees them: no Authorization (the agent key),
 * no hop-by-hop fields, and no platform cookies. On the platform's origin no cookie at all
 * is forwarded (tenant content there has no cookies of its own); elsewhere the app's own
 * cookies pass and the platform's are removed from the Cookie header.
 */
export function appRequestHeaders(headers: Headers, where: { origin: AppOrigin }): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((v, k) => {
    if (REQUEST_DROPPED.has(k) || k.startsWith("proxy-")) return;
    if (k === "cookie") {
      if (where.origin === "platform") return;
      const kept = v
        .split(";")
        .map((s) => s.trim())
        .filter((s) => s && !PLATFORM_COOKIE_NAMES.some((n) => s.split("=")[0]!.trim().toLowerCase().replace(/^__(host|secure)-/, "") === n.toLowerCase()));
      if (kept.length) out.push(["cookie", kept.join("; ")]);
      return;
    }
    out.push([k, v]);
  });
  return out;
}
