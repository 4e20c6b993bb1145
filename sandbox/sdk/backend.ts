/**
 * defineBackend: routes → one fetch handler. Reads input from the query string or the body
 * by its Content-Type (./input.ts) and validates it before the handler runs (400 with
 * field issues), turns return values into JSON responses, and maps
 * HttpError / thrown errors to the JSON error envelope. describe() lists the routes with
 * their JSON Schemas for the host's OpenAPI document.
 */
import { Request, Response } from "../shims/body";
import { urlLibs } from "../shims/url";
import { console } from "../shims/misc";
import { HttpError, errorResponse } from "./errors";
import { compileRoutes, matchRoute, type RouteDef } from "./router";
import { validate } from "./validate";
import { makeContext } from "./context";
import { BodyError, bodyInput, queryInput } from "./input";

const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS"]);

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
  const url = typeof req._url === "function" ? req._url() : new (urlLibs().URL)(req.url);
  const found = matchRoute(routes, req.method, url.pathname);
  if (!found.route) {
    if (found.allowed.length) return errorResponse(405, "method_not_allowed", `${req.method} is not allowed on ${url.pathname}`, undefined, { allow: found.allowed.join(", ") });
    return errorResponse(404, "not_found", `No route for ${req.method} ${url.pathname}`);
  }
  const { def } = found.route;
  // ctx.query keeps the first value of a repeated key (URLSearchParams.get); ctx.searchParams has them all.
  const query: Record<string, string> = {};
  if (url.search !== "") for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
  try {
    let input: any;
    let coerce = Object.keys(found.params).length > 0;
    if (BODYLESS.has(req.method)) {
      input = url.search === "" ? {} : queryInput(url.searchParams, def.input);
      coerce = true;
    } else {
      try {
        const body = bodyInput(req._raw(), req.headers.get("content-type"), def.input);
        input = body.value;
        coerce ||= body.coerce;
      } catch (e) {
        if (e instanceof BodyError) return errorResponse(400, e.code, e.message);
        throw e;
      }
    }
    if (input && typeof input === "object" && !Array.isArray(input) && !(input instanceof Uint8Array)) {
      for (const k of Object.keys(found.params)) if (!def.input || def.input.properties?.[k]) input[k] = found.params[k];
    }
    if (def.input) {
      const r = validate(def.input, input, { coerce });
      if (r.issues.length) return errorResponse(400, "invalid_request", r.issues.map((i) => `${i.field}: ${i.message}`).join("; "), r.issues);
      input = r.value;
    }
    const out = await def.handle(input, makeContext(req, found.params, query, () => url.searchParams));
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
