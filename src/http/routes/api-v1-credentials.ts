/** /api/v1/credentials: create, list (names and hosts only), delete. Values are write-only. */
import { Elysia, t } from "elysia";
import { credentialView } from "../../builder/credentials";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { ok } from "../envelope";

export function apiV1CredentialsRoutes(deps: HttpDeps) {
  return new Elysia({ name: "api-v1-credentials", prefix: "/api/v1/credentials" })
    .use(authPlugin(deps.verifier))
    .post(
      "",
      async ({ body, principal, set }) => {
        set.status = 201;
        return ok(credentialView(await deps.credentials.create(principal.workspaceId, body)), "Credential stored; its value will not be shown again.");
      },
      {
        body: t.Object({
          name: t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z][A-Za-z0-9_]*$", description: "the name backends and conversations refer to" }),
          value: t.String({ minLength: 1, maxLength: 8192 }),
          hosts: t.Array(t.String({ minLength: 1, maxLength: 270, pattern: "^((https?|HTTPS?)://)?((\\*\\.)?[A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]+)?$" }), {
            minItems: 1,
            maxItems: 20,
            description: "where the value may be sent: host (https, port 443), host:port (https), *.domain, or http://host:port / https://host:port",
          }),
        }),
        detail: { summary: "Store a credential (encrypted at rest) approved for hosts", tags: ["credentials"] },
      },
    )
    .get("", async ({ principal }) => ok((await deps.credentials.list(principal.workspaceId)).map(credentialView)), {
      detail: { summary: "List credentials (names and hosts, never values)", tags: ["credentials"] },
    })
    .delete(
      "/:id",
      async ({ params, principal }) => {
        await deps.credentials.delete(principal.workspaceId, params.id);
        return ok({ id: params.id, deleted: true }, "Credential deleted.");
      },
      { detail: { summary: "Delete a credential (grants to agents go with it)", tags: ["credentials"] } },
    );
}
