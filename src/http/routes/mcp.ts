/**
 * /mcp: the platform's MCP server (Streamable HTTP, stateless), authenticated with a
 * platform token like every control route. The tools are in src/http/mcp/platform.ts.
 */
import { Elysia } from "elysia";
import type { HttpDeps } from "../deps";
import { requestIdOf } from "../request-context";
import { platformTools } from "../mcp/platform";
import { serveMcp } from "../mcp/serve";

export function mcpRoutes(deps: HttpDeps) {
  const handle = async ({ request }: { request: Request }) => {
    const principal = await deps.verifier.tokens.verify(request.headers.get("authorization"));
    return serveMcp(
      request,
      { name: "cantrip", version: deps.version, instructions: "Tools for cantrip, a platform that turns plain-English requirements into running backend APIs: generate, deploy, call and inspect backends, or run a builder conversation." },
      platformTools(deps, principal.workspaceId, requestIdOf(request)),
    );
  };
  const detail = { summary: "The platform's MCP server (Streamable HTTP; platform token)", tags: ["mcp"] };
  return new Elysia({ name: "mcp" })
    .post("/mcp", handle, { parse: "none", detail })
    .get("/mcp", handle, { parse: "none", detail: { ...detail, hide: true } })
    .delete("/mcp", handle, { parse: "none", detail: { ...detail, hide: true } });
}
