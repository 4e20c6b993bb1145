/**
 * The hot path's router, in front of Elysia: `POST /v1/invoke/{slug}` and `/apps/{slug}/...`
 * are matched by a few string comparisons and answered by the same functions the Elysia
 * routes call (`invokeResponse`, `appForwarder`), skipping Elysia's routing, context and
 * response mapping (issue 15). Everything else, and every request of those shapes the
 * pre-router is not sure of (an encoded or unusual slug, a trailing slash on invoke), goes
 * to Elysia unchanged, so Elysia stays the exact fallback and /openapi.json keeps describing
 * both endpoints. Errors are rendered by `renderError`, the renderer Elysia's `onError`
 * uses, so the envelope, catalogue codes and headers are the same on both paths; the outer
 * wrapper (`createHandler`: request id, body limits, security headers, metrics, log line)
 * sits outside both.
 */
import type { AppOrigin } from "../gateway";
import type { HttpDeps } from "./deps";
import { renderError } from "./error-handler";
import { appForwarder } from "./routes/apps";
import { invokeResponse } from "./routes/v1-invoke";

/** A listener's request handler (Bun.serve's fetch, before createHandler's wrapper). */
export type Handle = (req: Request) => Promise<Response> | Response;

/** What the pre-router answers with: the part of HttpDeps the data plane is built from before the listeners open (src/boot.ts). */
export type FrontDeps = Pick<HttpDeps, "gateway" | "db" | "urls" | "logger">;

export interface PreRouterOptions {
  /** Answer `POST /v1/invoke/{slug}` (the platform listener; the apps listener has no invoke route). */
  invoke: boolean;
  /** The origin this listener serves `/apps/{slug}/...` on (see app-headers.ts). */
  apps: AppOrigin;
  /** Told of each call the pre-router answers itself (invoke and apps), with the promise of its answer (boot counts them while it builds the control plane). */
  onCall?: (answer: Promise<Response>) => void;
}

/** A slug segment the pre-router takes: no percent-encoding (Elysia would decode it) and no dots. */
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;
const INVOKE = "/v1/invoke/";
const APPS = "/apps/";

/**
 * The request's path exactly as Elysia routes on it: the raw URL from the first "/" after
 * the scheme and authority up to the query (Elysia's own `getPath`, dynamic-handle.ts),
 * including its quirk of searching from index 11 (a URL like "http://h/a/b" routes as
 * "/b"), so that a request is never routed differently here and in Elysia.
 */
export function routedPath(url: string): string {
  const s = url.indexOf("/", 11);
  const q = url.indexOf("?", s + 1);
  return q === -1 ? url.substring(s) : url.substring(s, q);
}

/** The slug of `/apps/{slug}` or `/apps/{slug}/...`, or null when Elysia should decide. */
export function appSlugOfPath(path: string): string | null {
  if (!path.startsWith(APPS)) return null;
  const end = path.indexOf("/", APPS.length);
  const slug = end === -1 ? path.slice(APPS.length) : path.slice(APPS.length, end);
  return PLAIN_SEGMENT.test(slug) ? slug : null;
}

/** The slug of `/v1/invoke/{slug}` (nothing after it), or null when Elysia should decide. */
export function invokeSlugOfPath(path: string): string | null {
  if (!path.startsWith(INVOKE)) return null;
  const slug = path.slice(INVOKE.length);
  return PLAIN_SEGMENT.test(slug) ? slug : null;
}

function errorCodeOf(e: unknown): string | number {
  const code = e !== null && typeof e === "object" ? (e as { code?: unknown }).code : undefined;
  return typeof code === "string" || typeof code === "number" ? code : "UNKNOWN";
}

/**
 * Wraps a listener's Elysia handler (`fallback`): invoke and app requests are answered
 * here, the rest by `fallback`. Errors thrown while answering become the same response
 * Elysia's onError would render ("PARSE" when the body could not be read, as Elysia's
 * text parser reports it).
 */
export function preRouter(deps: FrontDeps, opts: PreRouterOptions, fallback: Handle): Handle {
  const forward = appForwarder(deps, opts.apps);
  const fail = (req: Request, code: string | number, e: unknown) => renderError(code, e, req, deps.logger);
  // Elysia hands onError `error.code ?? "UNKNOWN"` for an error a handler throws (compose.ts).
  const thrown = (req: Request, e: unknown) => fail(req, errorCodeOf(e), e);
  const invoke = async (req: Request, slug: string): Promise<Response> => {
    let body: string;
    try {
      body = await req.text();
    } catch (e) {
      return fail(req, "PARSE", e);
    }
    try {
      return await invokeResponse(deps, slug, req, body);
    } catch (e) {
      return thrown(req, e);
    }
  };
  const app = async (req: Request, slug: string): Promise<Response> => {
    try {
      return await forward(req, slug);
    } catch (e) {
      return thrown(req, e);
    }
  };
  const told = opts.onCall;
  return (req) => {
    const path = routedPath(req.url);
    if (opts.invoke && req.method === "POST") {
      const slug = invokeSlugOfPath(path);
      if (slug !== null) {
        const answer = invoke(req, slug);
        told?.(answer);
        return answer;
      }
    }
    const slug = appSlugOfPath(path);
    if (slug !== null) {
      const answer = app(req, slug);
      told?.(answer);
      return answer;
    }
    return fallback(req);
  };
}
