/**
 * The outer request wrapper around the Elysia app: assigns the request id, records the
 * client's address, refuses oversize bodies (413), non-JSON bodies on JSON routes (415) and
 * JSON nested deeper than MAX_JSON_DEPTH (400 invalid_json, by the linear scan in
 * src/lib/json-nesting.ts) before anything parses them, stamps `x-request-id` and the
 * baseline security headers on every response, and writes one log line per request.
 */
import { AppError } from "../errors";
import { errorResponse, familyOf } from "./envelope";
import type { Logger } from "./logger";
import { bytesNestDeeperThan } from "../lib/json-nesting";
import { setRequestContext } from "./request-context";
import { randomBase62 } from "../lib/ids";
import { applyBaseline } from "./security-headers";
import { AGENT_KEY_PREFIX } from "../auth/agent-keys";

export interface HandlerOptions {
  bodyLimitBytes: number;
  logger: Logger;
  logRequests: boolean;
  /** Sees every response (metrics): path, status, seconds. */
  onResponse?: (pathname: string, status: number, seconds: number) => void;
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Deepest nesting accepted in JSON bodies of the control APIs (issue 12 §3). */
export const MAX_JSON_DEPTH = 64;
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

function needsJson(method: string, pathname: string): boolean {
  if (!BODY_METHODS.has(method)) return false;
  if (pathname.startsWith("/v1/invoke/")) return false; // invoke answers invalid_json itself
  return pathname.startsWith("/v1/") || pathname.startsWith("/api/v1/");
}

function hasBody(req: Request): boolean {
  const len = req.headers.get("content-length");
  if (len !== null) return Number(len) > 0;
  return req.headers.has("transfer-encoding");
}

async function readCapped(req: Request, limit: number): Promise<Uint8Array | null> {
  const reader = req.body!.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** A path of characters the URL parser leaves as they are: no dot segments, escapes, backslashes. */
const PLAIN_PATH = /^\/[A-Za-z0-9_\-/]*$/;
/** An http(s) scheme and an authority of host name or address characters and a port (no user info). */
const PLAIN_ORIGIN = /^https?:\/\/[A-Za-z0-9.\-:[\]]+$/i;

/**
 * `new URL(url).pathname` of an absolute http(s) URL (a request's `url`), read off the string
 * when the path is plain (PLAIN_PATH), else parsed (issue 15: the parse was ~0.7 µs per request).
 */
export function pathnameOf(url: string): string {
  return plainParts(url)?.pathname ?? new URL(url).pathname;
}

/**
 * A query the URL parser leaves as it is (WHATWG URL, query state: it percent-encodes C0
 * controls, space, `"`, `#`, `<`, `>`, `'` and non-ASCII; nothing here is any of those).
 */
const PLAIN_QUERY = /^\?[A-Za-z0-9_\-.~%!$&()*+,;=:@/?]*$/;

/**
 * `new URL(url)`'s `pathname` and `search` of an absolute http(s) URL (a request's `url`),
 * read off the string when origin, path and query are plain (PLAIN_ORIGIN, PLAIN_PATH,
 * PLAIN_QUERY), else parsed (issue 15: the parse was ~0.7 µs per request).
 */
export function pathAndSearchOf(url: string): { pathname: string; search: string } {
  const plain = plainParts(url);
  if (plain) return plain;
  const u = new URL(url);
  return { pathname: u.pathname, search: u.search };
}

/** pathAndSearchOf's answer when the URL is plain, else null. */
function plainParts(url: string): { pathname: string; search: string } | null {
  const authority = url.indexOf("://");
  const start = authority === -1 ? -1 : url.indexOf("/", authority + 3);
  if (start === -1) return null;
  const q = url.indexOf("?", start);
  const end = q === -1 ? url.length : q;
  const path = url.substring(start, end);
  if (!PLAIN_PATH.test(path) || !PLAIN_ORIGIN.test(url.substring(0, start))) return null;
  if (q === -1) return { pathname: path, search: "" };
  const query = url.substring(q);
  if (!PLAIN_QUERY.test(query)) return null;
  // An empty query serializes as no query at all ("?" → "").
  return { pathname: path, search: query === "?" ? "" : query };
}

/** The part of Bun's Server the handler uses: the peer address of a request's connection. */
export interface PeerInfo {
  requestIP(req: Request): { address: string } | null;
}

export function createHandler(handle: (req: Request) => Promise<Response> | Response, opts: HandlerOptions) {
  return async (req: Request, server?: PeerInfo): Promise<Response> => {
    const original = req; // (requestIP knows only the request Bun handed in, not a rebuilt one)
    // A caller without an agent key may be limited per client address (an anonymous app call),
    // so its address is read now, before any await: Bun's requestIP answers null once the
    // client has disconnected, which would move the call into the shared "unknown" bucket.
    // A keyed call never needs it and reads it lazily, if ever (~0.65 µs saved per invoke).
    const auth = req.headers.get("authorization");
    const peer = server && (auth === null || !auth.includes(AGENT_KEY_PREFIX)) ? (server.requestIP(req)?.address ?? null) : undefined;
    const started = performance.now();
    const given = req.headers.get("x-request-id");
    const requestId = given && CLIENT_ID.test(given) ? given : `req_${randomBase62(16)}`;
    const url = { pathname: pathnameOf(req.url) };
    let res: Response;
    const length = req.headers.get("content-length");
    let tooLarge = Number(length ?? "0") > opts.bodyLimitBytes;
    let bytes: Uint8Array | null = null;
    // (req.body is only touched for a chunked upload: reading it makes a stream.)
    if (!tooLarge && length === null && req.headers.has("transfer-encoding") && req.body) {
      // Chunked upload: buffer up to the limit so the cap holds without a content-length.
      bytes = await readCapped(req, opts.bodyLimitBytes);
      if (bytes === null) tooLarge = true;
      else req = new Request(req.url, { method: req.method, headers: req.headers, body: bytes as Uint8Array<ArrayBuffer> });
    }
    const json = !tooLarge && needsJson(req.method, url.pathname) && hasBody(req);
    const jsonType = json && /^application\/(.+\+)?json\b/i.test(req.headers.get("content-type") ?? ""); // (only read for JSON routes)
    if (json && jsonType && bytes === null) {
      // Buffered here (the size is already capped) so the depth scan sees the body before any parser.
      bytes = new Uint8Array(await req.arrayBuffer());
      req = new Request(req.url, { method: req.method, headers: req.headers, body: bytes as Uint8Array<ArrayBuffer> });
    }
    setRequestContext(req, requestId, peer !== undefined ? peer : server ? () => server.requestIP(original)?.address : undefined);
    if (tooLarge) {
      res = errorResponse(familyOf(url.pathname), new AppError("payload_too_large", `The request body is larger than ${opts.bodyLimitBytes} bytes.`), requestId);
    } else if (json && !jsonType) {
      res = errorResponse(familyOf(url.pathname), new AppError("unsupported_media_type"), requestId);
    } else if (json && bytes && bytesNestDeeperThan(bytes, MAX_JSON_DEPTH)) {
      res = errorResponse(familyOf(url.pathname), new AppError("invalid_json", `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`), requestId);
    } else {
      res = await handle(req);
    }
    try {
      res.headers.set("x-request-id", requestId);
    } catch {
      res = new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
      res.headers.set("x-request-id", requestId);
    }
    applyBaseline(res);
    opts.onResponse?.(url.pathname, res.status, (performance.now() - started) / 1000);
    if (opts.logRequests) {
      opts.logger.info("request", {
        method: req.method,
        path: url.pathname,
        status: res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        requestId,
      });
    }
    return res;
  };
}
