/**
 * defineBackend: routes → one fetch handler. Parses and validates input before the
 * handler runs (400 with field issues), turns return values into JSON responses, and maps
 * HttpError / thrown errors to the JSON error envelope. describe() lists the routes with
 * their JSON Schemas for the host's OpenAPI document.
 */
import { Request, Response } from "../shims/body";
import { URL } from "../shims/url";
import { console } from "../shims/misc";
import { HttpError, errorResponse } from "./errors";
import { compileRoutes, matchRoute, type RouteDef } from "./router";
import { validate } from "./validate";
import { makeContext } from "./context";

const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS"]);
const MAX_JSON_DEPTH = 256;

export interface BackendSpec {
  routes: Record<string, RouteDef | RouteDef["handle"]>;
  scheduled?: (ctx: ReturnType<typeof makeContext>) => unknown;
}

export function defineBackend(spec: BackendSpec) {
  if (!spec || typeof spec !== "object" || !spec.routes) throw new Error("defineBackend: expected { routes: { 'GET /path': {...} } }");
  const routes = compileRoutes(spec.routes);
  return {
    __cantrip: 1,
    fetch: (req: Request) => handle(routes, req),
    scheduled: spec.scheduled ? () => spec.scheduled!(makeContext(null)) : undefined,
    describe: () => ({
      routes: routes.map((r) => ({ method: r.method, path: r.path, summary: r.def.summary, description: r.def.description, input: r.def.input, output: r.def.output })),
      scheduled: !!spec.scheduled,
    }),
  };
}

async function handle(routes: ReturnType<typeof compileRoutes>, req: Request): Promise<Response> {
  const url = typeof req._url === "function" ? req._url() : new URL(req.url);
  const found = matchRoute(routes, req.method, url.pathname);
  if (!found.route) {
    if (found.allowed.length) return errorResponse(405, "method_not_allowed", `${req.method} is not allowed on ${url.pathname}`, undefined, { allow: found.allowed.join(", ") });
    return errorResponse(404, "not_found", `No route for ${req.method} ${url.pathname}`);
  }
  const { def } = found.route;
  const query: Record<string, string> = url.search === "" ? {} : Object.fromEntries(url.searchParams);
  try {
    let input: any;
    if (BODYLESS.has(req.method)) input = { ...query };
    else {
      const text = await req.text();
      if (text.trim() === "") input = {};
      else {
        if (tooDeep(text)) return errorResponse(400, "invalid_json", `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
        try {
          input = JSON.parse(text);
        } catch (e) {
          return errorResponse(400, "invalid_json", `The request body is not valid JSON: ${(e as Error).message}`);
        }
      }
    }
    if (input && typeof input === "object" && !Array.isArray(input)) {
      for (const k of Object.keys(found.params)) if (!def.input || def.input.properties?.[k]) input[k] = found.params[k];
    }
    if (def.input) {
      const r = validate(def.input, input, { coerce: BODYLESS.has(req.method) || Object.keys(found.params).length > 0 });
      if (r.issues.length) return errorResponse(400, "invalid_request", r.issues.map((i) => `${i.field}: ${i.message}`).join("; "), r.issues);
      input = r.value;
    }
    const out = await def.handle(input, makeContext(req, found.params, query));
    if (out instanceof Response) return out;
    if (out === undefined) return new Response(null, { status: 204 });
    return Response.json(out);
  } catch (e) {
    return toErrorResponse(e);
  }
}

export function toErrorResponse(e: unknown): Response {
  if (e instanceof HttpError) return errorResponse(e.status, e.code, e.message, e.details);
  // Out of memory leaves the interpreter unusable: let it reach the host, which drops the instance.
  if (e instanceof Error && e.name === "InternalError" && /out of memory/.test(e.message)) throw e;
  console.error("Unhandled error in handler:", e);
  const message = e instanceof Error ? e.message : String(e);
  return errorResponse(500, "internal_error", message);
}

/** Deep nesting overflows the native stack inside JSON.parse; reject it before parsing. */
function tooDeep(text: string): boolean {
  if (text.length < MAX_JSON_DEPTH * 2) return false;
  let depth = 0, inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++;
      else if (c === 34) inStr = false;
    } else if (c === 34) inStr = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
