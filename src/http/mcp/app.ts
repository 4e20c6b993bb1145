/**
 * Every deployed backend as an MCP server (`/apps/{slug}/_mcp`, with that agent's key, or
 * none for a public app): one tool per declared route, named from the route
 * (`GET /items/:id` → `get_items_by_id`), whose input schema is the route's path
 * parameters plus its declared input (query fields for GET, body fields otherwise) and
 * whose output schema is the route's declared output. A call goes through the gateway like
 * any other (same key check, limits, rate limits and invocation log, source "mcp"); a
 * non-2xx answer — the backend's own 400 for invalid input included — is a tool error
 * carrying the backend's body. Routes without declared input take a generic `body`.
 */
import type { LiveEntry } from "../../gateway";
import { getVersion } from "../../deploy";
import type { BackendDescription } from "../../runtime/types";
import type { HttpDeps } from "../deps";
import { jsonResult, type Tool } from "./serve";

type Schema = Record<string, unknown>;
type RouteInfo = BackendDescription["routes"][number];

const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS"]);
const ANY_JSON: Schema = { type: ["object", "array", "string", "number", "boolean", "null"] };

/** `GET /items/:id` → `get_items_by_id`; `POST /` → `post_root` (MCP names: [a-zA-Z0-9_-], ≤ 64). */
export function toolName(method: string, path: string): string {
  const parts = path
    .split("/")
    .filter(Boolean)
    .map((p) => (p.startsWith(":") ? `by_${p.slice(1)}` : p));
  const name = `${method.toLowerCase()}_${parts.length ? parts.join("_") : "root"}`.replace(/[^A-Za-z0-9_-]+/g, "_");
  return name.slice(0, 64);
}

const paramsOf = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
const isObjectSchema = (s: unknown): s is Schema & { properties?: Record<string, Schema>; required?: string[] } =>
  !!s && typeof s === "object" && (s as Schema).type === "object";

/** The tool's input schema and how to split its arguments back into path, query and body. */
function inputFor(route: RouteInfo): { schema: Schema; shape: "fields" | "body" | "generic" } {
  const params = paramsOf(route.path);
  const properties: Record<string, Schema> = Object.fromEntries(params.map((p) => [p, { type: "string", description: `path parameter :${p}` }]));
  const required = new Set(params);
  if (isObjectSchema(route.input)) {
    Object.assign(properties, route.input.properties ?? {});
    for (const r of route.input.required ?? []) required.add(r);
    return { schema: { type: "object", properties, ...(required.size ? { required: [...required] } : {}) }, shape: "fields" };
  }
  if (route.input && typeof route.input === "object") {
    properties.body = route.input as Schema;
    required.add("body");
    return { schema: { type: "object", properties, required: [...required] }, shape: "body" };
  }
  properties.body = { ...ANY_JSON, description: "the JSON body (this route declares no input schema)" };
  properties.query = { type: "object", additionalProperties: { type: "string" }, description: "query string values" };
  return { schema: { type: "object", properties, ...(required.size ? { required: [...required] } : {}) }, shape: "generic" };
}

/** Splits tool arguments into the request's path, query string and JSON body. */
function requestFor(route: RouteInfo, shape: "fields" | "body" | "generic", args: Record<string, unknown>): { pathAndQuery: string; body: unknown } {
  const rest = { ...args };
  const path = route.path.replace(/:([A-Za-z0-9_]+)/g, (_, p: string) => {
    const v = rest[p];
    if (shape !== "fields") delete rest[p];
    return encodeURIComponent(v === undefined ? "" : String(v));
  });
  const qs = new URLSearchParams();
  const addQuery = (fields: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, typeof item === "object" && item !== null ? JSON.stringify(item) : String(item));
    }
  };
  let body: unknown = undefined;
  if (shape === "generic") {
    if (rest.query && typeof rest.query === "object") addQuery(rest.query as Record<string, unknown>);
    body = rest.body;
  } else if (shape === "body") body = rest.body;
  else if (BODYLESS.has(route.method.toUpperCase())) addQuery(Object.fromEntries(Object.entries(rest).filter(([k]) => !paramsOf(route.path).includes(k))));
  else body = rest;
  const query = qs.toString();
  return { pathAndQuery: path + (query ? `?${query}` : ""), body };
}

/** The tools of one deployed backend, from its live version's description. */
export async function appTools(deps: Pick<HttpDeps, "db" | "gateway">, entry: LiveEntry, call: { authorization: string | null; requestId: string; clientAddress?: string | null }): Promise<Tool[]> {
  const v = entry.version === null ? null : await getVersion(deps.db, entry.agent.id, entry.version);
  const described = v?.described ?? { routes: [] };
  const seen = new Set<string>();
  return described.routes.map((route) => {
    let name = toolName(route.method, route.path);
    for (let i = 2; seen.has(name); i++) name = `${toolName(route.method, route.path).slice(0, 60)}_${i}`;
    seen.add(name);
    const { schema, shape } = inputFor(route);
    const output = isObjectSchema(route.output) ? (route.output as Schema) : undefined;
    return {
      name,
      title: `${route.method} ${route.path}`,
      description: route.summary ?? (route as { description?: string }).description ?? `${route.method} ${route.path} of ${entry.agent.name}`,
      inputSchema: schema,
      ...(output ? { outputSchema: output } : {}),
      async run(args) {
        const req = requestFor(route, shape, args);
        const method = route.method.toUpperCase();
        const headers = new Headers({ accept: "application/json" });
        if (call.authorization) headers.set("authorization", call.authorization);
        let body: Uint8Array | null = null;
        if (!BODYLESS.has(method) && req.body !== undefined) {
          headers.set("content-type", "application/json");
          body = new TextEncoder().encode(JSON.stringify(req.body));
        }
        const res = await deps.gateway.app({ slug: entry.agent.slug, method, pathAndQuery: req.pathAndQuery, headers, body, requestId: call.requestId, source: "mcp", origin: "platform", clientAddress: call.clientAddress }); // read as data by the MCP server, never rendered
        const text = await res.text();
        let value: unknown = text;
        try {
          value = text ? JSON.parse(text) : null;
        } catch {}
        if (res.status < 200 || res.status >= 300) return jsonResult({ status: res.status, body: value }, true);
        // structuredContent must match a declared output schema; without one, the JSON goes as text only.
        if (output && value !== null && typeof value === "object" && !Array.isArray(value)) return jsonResult(value);
        return { content: [{ type: "text", text: typeof value === "string" ? value : JSON.stringify(value, null, 2) }] };
      },
    } satisfies Tool;
  });
}
