/**
 * The first call a user makes to a freshly deployed backend, as a request and as a
 * ready-to-paste curl line. Shared by the CLI (after `generate` / `upload --deploy`) and the
 * dashboard, so both print the same line. Pure (its one import, route-paths.ts, is too): safe in the browser bundle.
 *
 * The choice: the backend's `POST /` through `/v1/invoke/{slug}` when it has one; otherwise
 * one of its declared routes through its app URL (`/apps/{slug}/path`) — the plan's first
 * worked example that fits a declared route when there is one, else the first POST route
 * without path parameters, else the first GET route without path parameters, else the first
 * route. The body is the example's, or one built from the route's input schema.
 */
import { routePathMatches } from "./route-paths";

/** A declared route as the sandbox's describe() reports it. */
export interface CallRoute {
  method: string;
  path: string;
  input?: unknown;
}

/** A worked example from the plan (only the request matters here). */
export interface CallExample {
  request?: { method?: string; path?: string; body?: unknown };
}

export interface FirstCall {
  method: string;
  url: string;
  /** JSON body, or undefined for none. */
  body?: unknown;
  via: "invoke" | "app";
}

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; const?: unknown; default?: unknown; examples?: unknown[]; minimum?: number; minLength?: number; format?: string; anyOf?: Schema[] };

/** A small value that satisfies `schema`'s common keywords (required properties only). */
export function sampleOf(schema: unknown, depth = 0): unknown {
  const s = (schema ?? {}) as Schema;
  if (depth > 6) return null;
  if (s.const !== undefined) return s.const;
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if (Array.isArray(s.anyOf) && s.anyOf.length) return sampleOf(s.anyOf.find((x) => x.type !== "null") ?? s.anyOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type ?? (s.properties ? "object" : undefined)) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sampleOf(s.properties?.[k], depth + 1);
      return out;
    }
    case "array":
      return [];
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : 1;
    case "boolean":
      return false;
    case "null":
      return null;
    case "string":
      if (s.format === "email") return "ada@example.com";
      if (s.format === "date-time") return "2026-01-01T00:00:00Z";
      if (s.format === "uri") return "urn:example:1"; // a valid URI that names no server
      // The schema is the backend's (a model's): minLength 1e9 would allocate a gigabyte in
      // the CLI or the dashboard tab, so the sample stops at 1024 characters.
      return "example".padEnd(Math.min(typeof s.minLength === "number" ? s.minLength : 0, 1024), "x");
    default:
      return {};
  }
}

/** Whether `path` (with an optional query) fits the declared route `route` for `method`. */
export function routeMatches(route: CallRoute, method: string, path: string): boolean {
  return route.method.toUpperCase() === method.toUpperCase() && routePathMatches(route.path, path);
}

/** Whether a request with this method carries a JSON body (GET, HEAD and DELETE do not). */
export const methodHasBody = (method: string): boolean => !["GET", "HEAD", "DELETE"].includes(method.toUpperCase());

/** The backend's `POST /`, the route `/v1/invoke/{slug}` reaches. */
const isInvokeRoute = (r: CallRoute) => r.method.toUpperCase() === "POST" && (r.path === "/" || r.path === "");

/**
 * The call to print. `baseUrl` is the server's public URL without a trailing slash;
 * `examples` are the plan's worked examples when the version was generated.
 */
export function firstCall(baseUrl: string, slug: string, routes: CallRoute[], examples: CallExample[] = []): FirstCall {
  const invoke = `${baseUrl}/v1/invoke/${slug}`;
  const app = (path: string) => `${baseUrl}/apps/${slug}${path.startsWith("/") ? path : "/" + path}`;
  const root = routes.find(isInvokeRoute);
  // An example is usable when it names no earlier response and hits a declared route.
  const usable = examples.filter((e) => {
    const r = e.request;
    return r?.path && r.method && !JSON.stringify(r).includes("{{") && routes.some((x) => routeMatches(x, r.method!, r.path!));
  });
  if (root) {
    const ex = usable.find((e) => e.request!.method!.toUpperCase() === "POST" && routeMatches(root, "POST", e.request!.path!));
    return { method: "POST", url: invoke, body: ex ? (ex.request!.body ?? {}) : sampleOf(root.input), via: "invoke" };
  }
  const ex = usable[0];
  if (ex) {
    const m = ex.request!.method!.toUpperCase();
    return { method: m, url: app(ex.request!.path!), body: methodHasBody(m) ? (ex.request!.body ?? {}) : undefined, via: "app" };
  }
  const plain = routes.filter((r) => !r.path.includes(":"));
  const route = plain.find((r) => r.method.toUpperCase() === "POST") ?? plain.find((r) => r.method.toUpperCase() === "GET") ?? routes[0];
  if (!route) return { method: "POST", url: invoke, body: {}, via: "invoke" };
  const m = route.method.toUpperCase();
  const path = samplePath(route.path);
  if (methodHasBody(m)) return { method: m, url: app(path), body: sampleOf(route.input), via: "app" };
  // GET/DELETE input is the query string.
  const sample = sampleOf(route.input);
  const query = sample && typeof sample === "object" && !Array.isArray(sample) ? Object.entries(sample).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&") : "";
  return { method: m, url: app(path) + (query ? `?${query}` : ""), via: "app" };
}

/** One call the try-it panel can make: the backend's `POST /` through invoke, or a route through its app URL. */
export interface CallTarget {
  method: string;
  /** The route as declared (`/items/:id`), or "/" for invoke. */
  route: string;
  via: "invoke" | "app";
}

/**
 * Every call a user can try: `POST /v1/invoke/{slug}` when the backend declares `POST /`, then
 * each declared route through the app URL (the root `POST /` too, for callers who prefer it).
 */
export function callTargets(routes: CallRoute[]): CallTarget[] {
  const out: CallTarget[] = [];
  if (routes.some(isInvokeRoute)) out.push({ method: "POST", route: "/", via: "invoke" });
  for (const r of routes) out.push({ method: r.method.toUpperCase(), route: r.path || "/", via: "app" });
  return out;
}

/** A declared route's path with each `:param` replaced by the parameter's name, ready to edit. */
export function samplePath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)/g, "$1");
}

/** Single-quoted for POSIX shells: ' becomes '\''. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The call as one curl line with the agent key (or a placeholder such as "$KEY"). */
export function curlLine(call: FirstCall, key: string): string {
  const parts = ["curl"];
  if (call.method !== "GET") parts.push("-X", call.method);
  parts.push(shellQuote(call.url), "-H", shellQuote(`Authorization: Bearer ${key}`));
  if (call.body !== undefined) parts.push("-H", shellQuote("Content-Type: application/json"), "-d", shellQuote(JSON.stringify(call.body)));
  return parts.join(" ");
}
