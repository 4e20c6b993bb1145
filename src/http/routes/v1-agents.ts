/** /v1/agents: create from source, list, read, change limits, delete, versions, rollback, invocations, metrics. */
import { Elysia, t } from "elysia";
import { getAgent, getAgentBySlug, listAgents } from "../../agents";
import { agentView } from "../../agents/view";
import { listVersions, getVersion, versionView } from "../../deploy";
import { parsePage } from "../../lib/pagination";
import { AppError } from "../../errors";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { Agent, CreateAgentBody, Deployment, LimitsInput, PageQuery, SourceBody, Version, data } from "../schemas";

export function v1AgentsRoutes(deps: HttpDeps) {
  const view = (a: Parameters<typeof agentView>[0]) => agentView(a, deps.urls, deps.limits);
  return new Elysia({ name: "v1-agents", prefix: "/v1/agents" })
    .use(authPlugin(deps.verifier))
    .get(
      "",
      async ({ query, principal }) => {
        const page = await listAgents(deps.db, principal.workspaceId, parsePage(query));
        return { data: page.data.map(view), nextCursor: page.nextCursor };
      },
      {
        query: PageQuery,
        detail: { summary: "List agents", tags: ["agents"] },
        response: t.Object({ data: t.Array(Agent), nextCursor: t.Nullable(t.String()) }),
      },
    )
    .post(
      "",
      async ({ body, principal, set }) => {
        const agent = await deps.agents.create(principal.workspaceId, body);
        let deployment = null;
        if (body.autoDeploy) deployment = await deps.deployer.request(agent);
        set.status = 201;
        return { data: { agent: view(await getAgent(deps.db, principal.workspaceId, agent.id)), version: 1, deployment } };
      },
      {
        body: CreateAgentBody,
        detail: { summary: "Create an agent from your own TypeScript source (no LLM)", tags: ["agents"] },
        response: { 201: data(t.Object({ agent: Agent, version: t.Integer(), deployment: t.Any() })) },
      },
    )
    .get("/by-slug/:slug", async ({ params, principal }) => ({ data: view(await getAgentBySlug(deps.db, principal.workspaceId, params.slug)) }), {
      detail: { summary: "Get an agent by slug", tags: ["agents"] },
      response: data(Agent),
    })
    .get("/:id", async ({ params, principal }) => ({ data: view(await getAgent(deps.db, principal.workspaceId, params.id)) }), {
      detail: { summary: "Get an agent", tags: ["agents"] },
      response: data(Agent),
    })
    .patch(
      "/:id",
      async ({ params, body, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        if (body.limits !== undefined) await deps.agents.setLimits(agent, body.limits);
        return { data: view(await getAgent(deps.db, principal.workspaceId, agent.id)) };
      },
      {
        body: t.Object({ limits: t.Optional(LimitsInput) }),
        detail: { summary: "Change an agent's per-call limits (within the operator's maxima); the next call runs with them", tags: ["agents"] },
        response: data(Agent),
      },
    )
    .delete(
      "/:id",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        await deps.agents.delete(agent);
        return { data: { id: agent.id, deleted: true } };
      },
      { detail: { summary: "Delete an agent, its versions, keys and data", tags: ["agents"] }, response: data(t.Object({ id: t.String(), deleted: t.Boolean() })) },
    )
    .put(
      "/:id/source",
      async ({ params, body, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const version = await deps.agents.addSourceVersion(agent, body);
        return { data: { agent: view(await getAgent(deps.db, principal.workspaceId, agent.id)), version } };
      },
      {
        body: SourceBody,
        detail: { summary: "Upload new source: creates the agent's next version (deploy it with POST /v1/deploy/{agentId})", tags: ["agents"] },
        response: data(t.Object({ agent: Agent, version: t.Integer() })),
      },
    )
    .get(
      "/:id/versions",
      async ({ params, query, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const page = await listVersions(deps.db, agent.id, parsePage(query));
        return { data: page.data.map((v) => versionView(v, agent.liveVersion)), nextCursor: page.nextCursor };
      },
      { query: PageQuery, detail: { summary: "List an agent's versions", tags: ["versions"] }, response: t.Object({ data: t.Array(Version), nextCursor: t.Nullable(t.String()) }) },
    )
    .get(
      "/:id/versions/:version",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const n = Number(params.version);
        return { data: versionView(await getVersion(deps.db, agent.id, Number.isInteger(n) ? n : -1), agent.liveVersion, true) };
      },
      { detail: { summary: "Get one version with its source and spec", tags: ["versions"] }, response: data(Version) },
    )
    .post(
      "/:id/rollback",
      async ({ params, body, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const deployment = await deps.deployer.rollback(agent, body.version);
        return { data: { agent: view(await getAgent(deps.db, principal.workspaceId, agent.id)), deployment } };
      },
      {
        body: t.Object({ version: t.Integer({ minimum: 1 }) }),
        detail: { summary: "Roll back: make an existing version live at once", tags: ["versions"] },
        response: data(t.Object({ agent: Agent, deployment: Deployment })),
      },
    )
    .get(
      "/:id/invocations",
      async ({ params, query, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        await deps.invocations.flush();
        return deps.invocations.list(agent.id, parsePage(query));
      },
      { query: PageQuery, detail: { summary: "Recent invocations of an agent, newest first", tags: ["invocations"] } },
    )
    .get(
      "/:id/metrics",
      async ({ params, query, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const windowS = query.window === undefined ? 3600 : Number(query.window);
        if (!Number.isInteger(windowS) || windowS < 1 || windowS > 30 * 86400)
          throw new AppError("invalid_request", "window must be 1 to 2592000 seconds", {
            details: [{ field: "query.window", rule: "Range", message: "window must be 1 to 2592000 seconds" }],
          });
        await deps.invocations.flush();
        return { data: await deps.invocations.metrics(agent.id, windowS * 1000) };
      },
      {
        query: t.Object({ window: t.Optional(t.String({ description: "seconds, default 3600" })) }),
        detail: { summary: "Call count, error rate and latency percentiles over a window", tags: ["invocations"] },
      },
    )
    .get(
      "/:id/logs",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        await deps.invocations.flush();
        return { data: await deps.invocations.recentLogs(agent.id, 200) };
      },
      { detail: { summary: "Recent console lines from the agent's code", tags: ["invocations"] } },
    );
}
