/** /v1/agents/{id}/api-keys: list, create, revoke, rotate agent API keys. */
import { Elysia, t } from "elysia";
import { getAgent } from "../../agents";
import { parsePage } from "../../lib/pagination";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { ApiKey, PageQuery, data } from "../schemas";

export function v1ApiKeysRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-api-keys", prefix: "/v1/agents/:id/api-keys" })
    .use(authPlugin(deps.verifier))
    .get(
      "",
      async ({ params, query, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        return deps.keys.list(principal.workspaceId, agent.id, parsePage(query));
      },
      { query: PageQuery, detail: { summary: "List an agent's API keys", tags: ["api-keys"] }, response: t.Object({ data: t.Array(ApiKey), nextCursor: t.Nullable(t.String()) }) },
    )
    .post(
      "",
      async ({ params, body, principal, set }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        set.status = 201;
        return { data: await deps.keys.create(principal.workspaceId, agent.id, body?.name ?? "default") };
      },
      {
        body: t.Optional(t.Object({ name: t.Optional(t.String({ minLength: 1, maxLength: 120 })) })),
        detail: { summary: "Create an agent API key; the raw key is returned once at data.key", tags: ["api-keys"] },
        response: { 201: data(t.Object({ key: t.String(), apiKey: ApiKey })) },
      },
    )
    .post(
      "/:keyId/revoke",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        return { data: { apiKey: await deps.keys.revoke(principal.workspaceId, agent.id, params.keyId) } };
      },
      { detail: { summary: "Revoke an API key (takes effect at once)", tags: ["api-keys"] }, response: data(t.Object({ apiKey: ApiKey })) },
    )
    .post(
      "/:keyId/rotate",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        return { data: await deps.keys.rotate(principal.workspaceId, agent.id, params.keyId) };
      },
      {
        detail: { summary: "Rotate an API key: revokes it and returns a new raw key with the same name", tags: ["api-keys"] },
        response: data(t.Object({ key: t.String(), apiKey: ApiKey, rotatedFrom: t.String() })),
      },
    );
}
