/** /v1/agents: list, read, delete agents of the caller's workspace. */
import { Elysia, t } from "elysia";
import { getAgent, getAgentBySlug, listAgents } from "../../agents/queries";
import { agentView } from "../../agents/view";
import { parsePage } from "../../lib/pagination";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { Agent, PageQuery, data } from "../schemas";

export function v1AgentsRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-agents", prefix: "/v1/agents" })
    .use(authPlugin(deps.verifier))
    .get(
      "/",
      ({ query, principal }) => {
        const page = listAgents(deps.db, principal.workspaceId, parsePage(query));
        return { data: page.data.map((a) => agentView(a, deps.baseUrl)), nextCursor: page.nextCursor };
      },
      {
        query: PageQuery,
        detail: { summary: "List agents", tags: ["agents"] },
        response: t.Object({ data: t.Array(Agent), nextCursor: t.Nullable(t.String()) }),
      },
    )
    .get("/by-slug/:slug", ({ params, principal }) => ({ data: agentView(getAgentBySlug(deps.db, principal.workspaceId, params.slug), deps.baseUrl) }), {
      detail: { summary: "Get an agent by slug", tags: ["agents"] },
      response: data(Agent),
    })
    .get("/:id", ({ params, principal }) => ({ data: agentView(getAgent(deps.db, principal.workspaceId, params.id), deps.baseUrl) }), {
      detail: { summary: "Get an agent", tags: ["agents"] },
      response: data(Agent),
    });
}
