/**
 * /apps/{slug}/...: every method and path goes to the deployed backend's fetch handler
 * (agent key required unless the agent is public). /apps/{slug}/_docs serves the backend's
 * OpenAPI document, built from its declared schemas, and a small try-it page;
 * /apps/{slug}/_mcp serves the backend as an MCP server (src/http/mcp/app.ts).
 */
import { Elysia } from "elysia";
import type { HttpDeps } from "../deps";
import { requestIdOf } from "../request-context";
import { backendOpenApi, tryItPage } from "../app-docs";
import { appTools } from "../mcp/app";
import { serveMcp } from "../mcp/serve";

export function appsRoutes(deps: HttpDeps) {
  const forward = async ({ request, params }: { request: Request; params: { slug: string } }) => {
    const url = new URL(request.url);
    const prefix = `/apps/${params.slug}`;
    const rest = url.pathname.slice(prefix.length) || "/";
    if (rest === "/_docs" || rest === "/_docs/") {
      return new Response(tryItPage(params.slug, `${prefix}/_docs/openapi.json`), { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (rest === "/_mcp" || rest === "/_mcp/") {
      const authorization = request.headers.get("authorization");
      const entry = deps.gateway.entryFor(params.slug, authorization);
      const tools = appTools(deps, entry, { authorization, requestId: requestIdOf(request) });
      return serveMcp(request, { name: entry.agent.slug, version: String(entry.version ?? 0), instructions: entry.agent.prompt ?? undefined }, tools);
    }
    if (rest === "/_docs/openapi.json") {
      const entry = deps.gateway.entryFor(params.slug, request.headers.get("authorization"));
      return Response.json(backendOpenApi(deps.db, entry, `${deps.baseUrl}${prefix}`));
    }
    const body = request.method === "GET" || request.method === "HEAD" ? null : new Uint8Array(await request.arrayBuffer());
    return deps.gateway.app({
      slug: params.slug,
      method: request.method,
      pathAndQuery: rest + url.search,
      headers: request.headers,
      body: body && body.byteLength ? body : null,
      requestId: requestIdOf(request),
    });
  };
  return new Elysia({ name: "apps" })
    .all("/apps/:slug", forward, { parse: "none", detail: { hide: true } })
    .all("/apps/:slug/*", forward, { parse: "none", detail: { hide: true } });
}
