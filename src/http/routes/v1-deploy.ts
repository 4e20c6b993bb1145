/** /v1/deploy: start a deployment, its status, and the endpoint URL. */
import { Elysia, t } from "elysia";
import { getAgent } from "../../agents";
import { endpointUrl } from "../../agents/view";
import { deploymentView } from "../../deploy";
import { AppError } from "../../errors";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { Deployment, data } from "../schemas";

export function v1DeployRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-deploy", prefix: "/v1/deploy" })
    .use(authPlugin(deps.verifier))
    .post(
      "/:agentId",
      async ({ params, body, principal, set }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.agentId);
        set.status = 202;
        return { data: await deps.deployer.request(agent, body?.version) };
      },
      {
        body: t.Optional(t.Object({ version: t.Optional(t.Integer({ minimum: 1, description: "default: the newest version" })) })),
        detail: { summary: "Deploy an agent's newest (or a given) version", tags: ["deploy"] },
        response: {
          202: data(t.Object({ deploymentId: t.String(), jobId: t.String(), agentId: t.String(), status: t.Literal("deploying"), endpointUrl: t.Null() })),
        },
      },
    )
    .get(
      "/:agentId/status",
      async ({ params, principal }) => {
        await getAgent(deps.db, principal.workspaceId, params.agentId); // 404 for another workspace's agent
        // The deployment is read before the agent: a deployment's outcome and the agent's status
        // commit together, and each read sees what committed before it (on PostgreSQL, other
        // nodes commit between the two reads), so an answer never shows a finished deployment
        // beside the agent's status from before it.
        const deployment = await deps.deployer.latest(params.agentId);
        const agent = await getAgent(deps.db, principal.workspaceId, params.agentId);
        return {
          data: {
            agentId: agent.id,
            agentStatus: agent.status,
            endpointUrl: agent.liveVersion === null ? null : endpointUrl(deps.baseUrl, agent.slug),
            liveVersion: agent.liveVersion,
            deployment: deploymentView(deployment),
          },
        };
      },
      {
        detail: { summary: "Deployment status of an agent", tags: ["deploy"] },
        response: data(t.Object({ agentId: t.String(), agentStatus: t.String(), endpointUrl: t.Nullable(t.String()), liveVersion: t.Nullable(t.Integer()), deployment: Deployment })),
      },
    )
    .get(
      "/:agentId/endpoint",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.agentId);
        if (agent.liveVersion === null) throw new AppError("endpoint_not_available");
        return { data: { agentId: agent.id, endpointUrl: endpointUrl(deps.baseUrl, agent.slug) } };
      },
      { detail: { summary: "The invoke URL of a deployed agent", tags: ["deploy"] }, response: data(t.Object({ agentId: t.String(), endpointUrl: t.String() })) },
    )
    .post(
      "/:agentId/stop",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.agentId);
        await deps.deployer.stop(agent);
        return { data: { agentId: agent.id, status: "ready" } };
      },
      { detail: { summary: "Take an agent offline (versions and keys are kept)", tags: ["deploy"] } },
    );
}
