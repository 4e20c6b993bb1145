/** /api/v1/builder-agents: the multi-turn build conversation. */
import { Elysia, t } from "elysia";
import { AppError } from "../../errors";
import { parsePage } from "../../lib/pagination";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { ok } from "../envelope";
import { ConversationBody } from "../schemas";

export function apiV1BuilderAgentsRoutes(deps: HttpDeps) {
  const c = deps.conversations;
  const tags = ["builder-agents"];
  return new Elysia({ name: "api-v1-builder-agents", prefix: "/api/v1/builder-agents" })
    .use(authPlugin(deps.verifier))
    .post(
      "",
      async ({ body, principal, set }) => {
        if (!deps.llm.configured) throw new AppError("model_not_configured");
        set.status = 202;
        return ok(await c.view(await c.create(principal.workspaceId, body)), "Processing; poll this conversation.");
      },
      {
        body: ConversationBody,
        detail: { summary: "Start a build conversation (returns processing and a uuid; poll it)", tags },
      },
    )
    .get(
      "",
      async ({ query, principal }) => {
        const page = await c.list(principal.workspaceId, parsePage(query));
        return { ...ok(await Promise.all(page.data.map((r) => c.view(r)))), next_cursor: page.nextCursor };
      },
      { query: t.Object({ limit: t.Optional(t.String()), cursor: t.Optional(t.String()) }), detail: { summary: "List conversations", tags } },
    )
    .get("/:uuid", async ({ params, principal }) => ok(await c.view(await c.get(principal.workspaceId, params.uuid))), {
      detail: { summary: "Get a conversation: status, message, questions, builder", tags },
    })
    .post("/:uuid/answers", async ({ params, body, principal, set }) => {
      set.status = 202;
      return ok(await c.view(await c.answer(principal.workspaceId, params.uuid, body.message)), "Processing your answer.");
    }, {
      body: t.Object({ message: t.String({ minLength: 1, maxLength: 20000 }) }),
      detail: { summary: "Answer the builder's questions (only in gathering)", tags },
    })
    .post("/:uuid/approve", async ({ params, principal, set }) => {
      set.status = 202;
      return ok(await c.view(await c.approve(principal.workspaceId, params.uuid)), "Approved; building.");
    }, { detail: { summary: "Approve the plan and build (only in awaiting_approval)", tags } })
    .post("/:uuid/rebuild", async ({ params, body, principal, set }) => {
      set.status = 202;
      return ok(await c.view(await c.rebuild(principal.workspaceId, params.uuid, body.message, body.replace_prompt ?? false)), "Rebuilding; the current version keeps serving.");
    }, {
      body: t.Object({ message: t.String({ minLength: 1, maxLength: 100000 }), replace_prompt: t.Optional(t.Boolean({ default: false })) }),
      detail: { summary: "Change a deployed or failed app (409 while processing)", tags },
    });
}
