/** POST /v1/invoke/{slug}: call a deployed backend with an agent key. */
import { Elysia } from "elysia";
import type { HttpDeps } from "../deps";
import { requestIdOf } from "../request-context";

export function v1InvokeRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-invoke" }).post(
    "/v1/invoke/:slug",
    async ({ params, request, body }) => ({
      data: await deps.gateway.invoke(params.slug, request.headers.get("authorization"), typeof body === "string" ? body : "", requestIdOf(request)),
    }),
    {
      parse: "text",
      detail: {
        summary: "Invoke a deployed backend: the JSON body is forwarded as POST / and the backend's answer wrapped in an envelope",
        tags: ["invoke"],
        security: [{ agentKey: [] }],
        requestBody: { content: { "application/json": { schema: { type: "object", additionalProperties: true } } } },
        responses: {
          200: {
            description: "The backend's answer in the invocation envelope",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: { data: { type: "object", properties: { status: { type: "integer" }, ok: { type: "boolean" }, latencyMs: { type: "integer" }, response: {} } } },
                },
              },
            },
          },
        },
      },
    },
  );
}
