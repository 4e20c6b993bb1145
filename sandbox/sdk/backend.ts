/**
 * defineBackend: routes → one fetch handler. Reads input from the query string or the body
 * by its Content-Type (./input.ts) and validates it before the handler runs (400 with
 * field issues), turns return values into JSON responses, and maps
 * HttpError / thrown errors to the JSON error envelope. describe() lists the routes with
 * their JSON Schemas for the host's OpenAPI document.
 */
import { Request, Response, type UrlParts } from "../shims/body";
import { urlLibs } from "../shims/url";
import { console } from "../shims/misc";
import { HttpError, errorResponse } from "./errors";
import { compileRoutes, matchRoute, type Route, type RouteDef } from "./router";
import { validate } from "./validate";
import { bindCall, makeContext, makeLazyContext } from "./context";
import { BodyError, bodyInput, queryInput } from "./input";

const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS"]);

export interface BackendSpec {
  routes: Record<string, RouteDef | RouteDef["handle"]>;
  scheduled?: (ctx: ReturnType<typeof makeContext>) => unknown;
}

export function defineBackend(spec: BackendSpec) {
  if (!spec || typeof spec !== "object" || !spec.routes) throw new Error("defineBackend: expected { routes: { 'GET /path': {...} } }");
  const routes = compileRoutes(spec.routes);
  // Always a promise, as when handle() was an async function (it answers synchronously when it can).
  const fetch = (req: Request): Promise<Response> => {
    const incoming = fromRequest(req);
    try {
      return asPromise(handle(routes, incoming, asResponse));
    } catch (e) {
      return rejectWith(e);
    }
  };
  const backend = {
    __cantrip: 1,
    fetch,
    scheduled: spec.scheduled ? () => spec.scheduled!(makeContext(null)) : undefined,
    describe: () => ({
      routes: routes.map((r) => ({ method: r.method, path: r.path, summary: r.def.summary, description: r.def.description, input: r.def.input, output: r.def.output })),
      scheduled: !!spec.scheduled,
    }),
  };
  leanHandlers.set(backend, { fetch, lean: (p, done) => handle(routes, fromParts(p), done) });
  return backend;
}

/**
 * A route's JSON result as its text (the lean calling convention: the entry answers it as a
 * 200 `application/json` response, exactly what `Response.json(text's value)` would give,
 * without building the Response).
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** The parts of an incoming request the host sends (the lean calling convention). */
export interface RequestParts {
  /** Upper-cased, as the entry normalizes it; never HEAD (HEAD takes the full path). */
  method: string;
  url: string;
  /** `url` split (body.ts canonicalParts: only a URL already in serialized form is split this way). */
  parts: UrlParts;
  headers: [string, string][];
  body: string | Uint8Array | null;
  call: number | undefined;
}

/** What handle() reads of a request, from a Request (full path) or from its parts (lean). */
interface Incoming {
  method: string;
  url: UrlParts;
  raw(): string | Uint8Array | null;
  contentType(): string | null;
  ctx(params: Record<string, string>, query: Record<string, string>): ReturnType<typeof makeContext>;
  /** Whether a JSON result may come back as JsonText instead of a Response. */
  lean: boolean;
}

/**
 * A backend's lean handler: the call's answer passed through `done`, at once when the
 * route's handler returned a value, else a promise of done's result (issue 15).
 */
export type LeanHandler = <T>(p: RequestParts, done: (a: Response | JsonText) => T | Promise<T>) => T | Promise<T>;

const leanHandlers = new WeakMap<object, { fetch: unknown; lean: LeanHandler }>();

/** The full path's answers are Responses (only the lean path makes JsonText). */
const asResponse = (a: Response | JsonText) => a as Response;

/**
 * The lean handler of a backend defineBackend() made, while its `fetch` is still the one it
 * was made with (a backend whose fetch the module replaced is called through that fetch).
 */
export function leanHandler(backend: object): LeanHandler | undefined {
  const h = leanHandlers.get(backend);
  return h && (backend as { fetch?: unknown }).fetch === h.fetch ? h.lean : undefined;
}

function fromRequest(req: Request): Incoming {
  const url = typeof req._url === "function" ? req._url() : new (urlLibs().URL)(req.url);
  return {
    method: req.method,
    url,
    raw: () => req._raw(),
    contentType: () => req.headers.get("content-type"),
    ctx: (params, query) => makeContext(req, params, query, () => url.searchParams),
    lean: false,
  };
}

/** HTTP whitespace a header value may not start or end with once Headers normalizes it (tab, LF, CR, space). */
const isEdgeWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** What handle() reads of a lean call's parts (a class: no closures made per call). */
class PartsIncoming implements Incoming {
  readonly method: string;
  readonly url: UrlParts;
  readonly lean = true;
  #req: Request | undefined;
  constructor(private readonly p: RequestParts) {
    this.method = p.method;
    this.url = p.parts;
  }
  /** The Request the handler may ask for: the one the full path would have made first. */
  request(): Request {
    if (!this.#req) {
      this.#req = Request._incoming(this.p.url, this.p.method, this.p.headers, this.p.body);
      if (this.p.call !== undefined) bindCall(this.#req, this.p.call);
    }
    return this.#req;
  }
  raw(): string | Uint8Array | null {
    return this.p.body;
  }
  contentType(): string | null {
    // One plain content-type pair reads as Headers.get would give it; anything else asks the Headers.
    let value: string | null = null;
    // (Indexed: a for-of with destructuring costs ~0.4 µs per pair in QuickJS.)
    const headers = this.p.headers;
    for (let i = 0; i < headers.length; i++) {
      const n = headers[i]![0];
      const v = headers[i]![1];
      if (n.length !== 12 || n.toLowerCase() !== "content-type") continue;
      if (value !== null || (v.length > 0 && (isEdgeWs(v.charCodeAt(0)) || isEdgeWs(v.charCodeAt(v.length - 1))))) return this.request().headers.get("content-type");
      value = v;
    }
    return value;
  }
  ctx(params: Record<string, string>, query: Record<string, string>): ReturnType<typeof makeContext> {
    const p = this.p;
    return makeLazyContext(p.call, () => this.request(), params, query, () => p.parts.searchParams);
  }
}

function fromParts(p: RequestParts): Incoming {
  return new PartsIncoming(p);
}

/**
 * One call through the route table, its answer (the route's, or a 404/405/400 error
 * response) passed through `done`. Synchronous when the route's handler returns a value; a
 * promise of done's result when it returns a promise or thenable, settled in that promise's
 * own reaction (issue 15: each async function, await or extra reaction costs ~0.5–1 µs in
 * QuickJS). Throws, or rejects with, only what escapes toErrorResponse (out of memory) and
 * what reading the URL's query throws, as the async function it replaces rejected.
 */
function handle<T>(routes: Route[], req: Incoming, done: (a: Response | JsonText) => T | Promise<T>): T | Promise<T> {
  const a = callRoute(routes, req);
  if (!(a instanceof Pending)) return done(a);
  const lean = req.lean;
  const out = a.value;
  if (out instanceof Promise) return out.then((v) => done(settle(v, lean)), (e) => done(toErrorResponse(e)));
  // A thenable that is not a Promise is adopted as `await` would adopt it.
  return (async () => {
    let v: unknown;
    try {
      v = await out;
    } catch (e) {
      return done(toErrorResponse(e));
    }
    return done(settle(v, lean));
  })();
}

/** A handler's answer still to come: the promise or thenable it returned. */
class Pending {
  constructor(readonly value: unknown) {}
}

/** The route's answer, or the handler's promise or thenable (Pending) when it gave one. */
function callRoute(routes: Route[], req: Incoming): Response | JsonText | Pending {
  const url = req.url;
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
    // The keys of found.params, listed once per route (router.ts).
    const paramNames = found.route.keys;
    let coerce = paramNames.length > 0;
    if (BODYLESS.has(req.method)) {
      input = url.search === "" ? {} : queryInput(url.searchParams, def.input);
      coerce = true;
    } else {
      try {
        const body = bodyInput(req.raw(), req.contentType(), def.input);
        input = body.value;
        coerce ||= body.coerce;
      } catch (e) {
        if (e instanceof BodyError) return errorResponse(400, e.code, e.message);
        throw e;
      }
    }
    if (input && typeof input === "object" && !Array.isArray(input) && !(input instanceof Uint8Array)) {
      for (let i = 0; i < paramNames.length; i++) {
        const k = paramNames[i]!;
        if (!def.input || def.input.properties?.[k]) input[k] = found.params[k];
      }
    }
    if (def.input) {
      const r = validate(def.input, input, { coerce });
      if (r.issues.length) return errorResponse(400, "invalid_request", r.issues.map((i) => `${i.field}: ${i.message}`).join("; "), r.issues);
      input = r.value;
    }
    const fn = def.handle;
    // A handler that cannot read a second argument gets no ctx made for it (router.ts ctxFree).
    const out: unknown = fn === found.route.ctxFreeHandle ? apply(fn, def, [input]) : apply(fn, def, [input, req.ctx(found.params, query)]);
    if (out instanceof Promise) return new Pending(out);
    if (out !== null && (typeof out === "object" || typeof out === "function") && typeof (out as { then?: unknown }).then === "function") return new Pending(out);
    return answerOf(out, req.lean);
  } catch (e) {
    return toErrorResponse(e);
  }
}

// Captured before any backend code runs (a module that replaces Reflect.apply does not change how handlers are called).
const apply = Reflect.apply;
// Likewise Promise and Promise.resolve: backend.fetch's answer is a real promise, as from the async function it was.
const PromiseCtor = Promise;
const promiseResolve = Promise.resolve;
/** `v` as a promise (the same promise when it is one), whatever the module did to the global Promise. */
const asPromise = <T>(v: T | Promise<T>): Promise<T> => apply(promiseResolve, PromiseCtor, [v]) as Promise<T>;
/**
 * A promise rejected with `e`, made by an async function: not through the global Promise,
 * which a module may replace so that Promise.reject throws or returns anything (the entry and
 * backend.fetch would then throw where the async functions they were rejected).
 */
export const rejectWith = async (e: unknown): Promise<never> => {
  throw e;
};

/** A handler's value as the response: the Response it returned, 204 for undefined, else its JSON (JsonText on the lean path). Throws for a value JSON cannot hold. */
function answerOf(out: unknown, lean: boolean): Response | JsonText {
  if (out instanceof Response) return out;
  if (out === undefined) return new Response(null, { status: 204 });
  if (!lean) return Response.json(out);
  const text = JSON.stringify(out);
  if (text === undefined) throw new TypeError("Response.json: the data is not JSON-serializable");
  return new JsonText(text);
}

/** answerOf for a value a handler's promise gave: what it throws becomes the error response. */
function settle(out: unknown, lean: boolean): Response | JsonText {
  try {
    return answerOf(out, lean);
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
