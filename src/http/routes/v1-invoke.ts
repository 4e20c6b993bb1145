/**
 * POST /v1/invoke/{slug}: call a deployed backend with an agent key. The answer is built by
 * `invokeResponse`, which the pre-router (../pre-router.ts) calls directly on the hot path;
 * this Elysia route answers the same way for requests the pre-router leaves to Elysia and
 * describes the endpoint in /openapi.json.
 */
import { Elysia } from "elysia";
import type { HttpDeps } from "../deps";
import { requestIdOf } from "../request-context";
import { withBaseline } from "../security-headers";

/**
 * The invocation envelope `{data: {status, ok, latencyMs, response}}` as a 200 JSON response
 * (`content-type: application/json`, as Elysia maps an object). Throws the gateway's
 * AppErrors (key checks, rate limits, invalid_json, runtime failures); the caller renders them.
 */
export async function invokeResponse(deps: Pick<HttpDeps, "gateway">, slug: string, request: Request, rawBody: string): Promise<Response> {
  const envelope = await deps.gateway.invokeEnvelope(slug, request.headers.get("authorization"), rawBody, requestIdOf(request));
  return new Response(envelope as string | Uint8Array<ArrayBuffer>, { headers: INVOKE_HEADERS });
}

/** The envelope's headers, with the security baseline the outer wrapper would add anyway (withBaseline). */
const INVOKE_HEADERS = withBaseline({ "content-type": "application/json" });

export function v1InvokeRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-invoke" }).post(
    "/v1/invoke/:slug",
    ({ params, request, body }) => invokeResponse(deps, params.slug, request, typeof body === "string" ? body : ""),
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
