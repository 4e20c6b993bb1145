/**
 * /apps/{slug}/...: every method and path goes to the deployed backend's fetch handler
 * (agent key required unless the agent is public). /apps/{slug}/_docs serves the backend's
 * OpenAPI document, built from its declared schemas, and a small try-it page;
 * /apps/{slug}/_mcp serves the backend as an MCP server (src/http/mcp/app.ts). The same
 * routes are mounted on the platform's listener (origin "platform": sandboxed) and on the
 * apps listener (origin "apps"); host-routed requests ({slug}.<apps domain>) arrive here
 * rewritten to /apps/{slug}/... with origin "own" (see ../apps-host.ts). The answer is built by
 * `appForwarder`, which the pre-router (../pre-router.ts) calls directly on the hot path;
 * these Elysia routes answer the same way for requests the pre-router leaves to Elysia.
 */
import { Elysia } from "elysia";
import type { AppOrigin } from "../../gateway";
import type { HttpDeps } from "../deps";
import { appOriginOf, clientAddressOf, requestIdOf } from "../request-context";
import { pathAndSearchOf } from "../server";
import { backendOpenApi, backendSummary, tryItPage, tryItPageHeaders } from "../app-docs";
import { appTools } from "../mcp/app";
import { serveMcp } from "../mcp/serve";

/** Answers one request under /apps/{slug} (already routed: `slug` is the decoded path segment); throws AppErrors. */
export type AppForwarder = (request: Request, slug: string) => Promise<Response>;

/** The /apps/{slug}/... handler for a listener that serves apps on origin `served`. */
export function appForwarder(deps: Pick<HttpDeps, "gateway" | "db" | "urls">, served: AppOrigin): AppForwarder {
  return async (request, slug) => {
    const params = { slug };
    const origin = appOriginOf(request) ?? served;
    const url = pathAndSearchOf(request.url);
    const prefix = `/apps/${params.slug}`;
    // The path the browser sees: an app on its own host has no /apps/{slug} prefix.
    const seen = origin === "own" ? "" : prefix;
    if (origin === "apps" && url.pathname === prefix) {
      // On the shared apps origin a response at /apps/{slug} (no slash) would sit in the
      // directory /apps/: a service worker script there could claim scope /apps/ (every app),
      // a cookie's default path would be /apps. Send the browser into the app's own directory.
      return new Response(null, { status: 308, headers: { location: `${prefix}/${url.search}` } });
    }
    const rest = url.pathname.slice(prefix.length) || "/";
    if (rest === "/_docs" || rest === "/_docs/") {
      const { html, nonce } = tryItPage(params.slug, `${seen}/_docs/openapi.json`);
      return new Response(html, { headers: tryItPageHeaders(nonce) });
    }
    if (rest === "/_mcp" || rest === "/_mcp/") {
      const authorization = request.headers.get("authorization");
      const clientAddress = clientAddressOf(request);
      const entry = await deps.gateway.entryFor(params.slug, authorization, clientAddress);
      const tools = await appTools(deps, entry, { authorization, requestId: requestIdOf(request), clientAddress });
      return serveMcp(request, { name: entry.agent.slug, version: String(entry.version ?? 0), instructions: await backendSummary(deps.db, entry) }, tools);
    }
    if (rest === "/_docs/openapi.json") {
      const entry = await deps.gateway.entryFor(params.slug, request.headers.get("authorization"), clientAddressOf(request));
      return Response.json(await backendOpenApi(deps.db, entry, deps.urls.app(params.slug).replace(/\/$/, "")));
    }
    const body = request.method === "GET" || request.method === "HEAD" ? null : new Uint8Array(await request.arrayBuffer());
    return deps.gateway.app({
      slug: params.slug,
      method: request.method,
      pathAndQuery: rest + url.search,
      headers: request.headers,
      body: body && body.byteLength ? body : null,
      requestId: requestIdOf(request),
      clientAddress: () => clientAddressOf(request),
      origin,
    });
  };
}

export function appsRoutes(deps: HttpDeps, served: AppOrigin) {
  const forwarder = appForwarder(deps, served);
  const forward = ({ request, params }: { request: Request; params: { slug: string } }) => forwarder(request, params.slug);
  return new Elysia({ name: "apps", seed: served })
    .all("/apps/:slug", forward, { parse: "none", detail: { hide: true } })
    .all("/apps/:slug/*", forward, { parse: "none", detail: { hide: true } });
}
