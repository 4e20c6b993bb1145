/** /api/v1/builders: builders from your own code, and operating any builder (start/stop/logs/files). */
import { Elysia, t } from "elysia";
import { and, desc, eq, lt } from "drizzle-orm";
import { agents } from "../../db/schema";
import { getAgent } from "../../agents";
import { getVersion } from "../../deploy";
import { AppError } from "../../errors";
import { parsePage, pageOf } from "../../lib/pagination";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";
import { ok } from "../envelope";
import { FilesMap } from "../schemas";

export function apiV1BuildersRoutes(deps: HttpDeps) {
  const b = deps.builders;
  return new Elysia({ name: "api-v1-builders", prefix: "/api/v1/builders" })
    .use(authPlugin(deps.verifier))
    .post(
      "",
      async ({ body, principal, set }) => {
        set.status = 201;
        return ok(await b.create(principal.workspaceId, body), "Builder created; deployment started.");
      },
      {
        body: t.Object({
          name: t.String({ minLength: 2, maxLength: 120 }),
          files: FilesMap,
          entrypoint: t.String({ minLength: 1, maxLength: 200 }),
          env: t.Optional(t.Record(t.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }), t.String({ maxLength: 4096 }))),
          job_type: t.Optional(t.Union([t.Literal("always_on"), t.Literal("one_time")])),
          schedule: t.Optional(t.String({ minLength: 1, maxLength: 120, description: "cron expression for the backend's scheduled handler" })),
        }),
        detail: { summary: "Create a builder from your own code (bundled, deployed, with a service token)", tags: ["builders"] },
      },
    )
    .get(
      "",
      async ({ query, principal }) => {
        const page = parsePage(query);
        const rows = await deps.db
          .select()
          .from(agents)
          .where(and(eq(agents.workspaceId, principal.workspaceId), page.cursor ? lt(agents.id, page.cursor) : undefined))
          .orderBy(desc(agents.id))
          .limit(page.limit + 1);
        const p = pageOf(rows, page.limit, (r) => r.id);
        return { ...ok(await Promise.all(p.data.map((a) => b.view(a)))), next_cursor: p.nextCursor };
      },
      { query: t.Object({ limit: t.Optional(t.String()), cursor: t.Optional(t.String()) }), detail: { summary: "List builders", tags: ["builders"] } },
    )
    .get("/:uuid", async ({ params, principal }) => ok(await b.view(await getAgent(deps.db, principal.workspaceId, params.uuid))), {
      detail: { summary: "Get a builder", tags: ["builders"] },
    })
    .delete(
      "/:uuid",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.uuid);
        await deps.agents.delete(agent);
        return ok({ uuid: agent.id, deleted: true }, "Builder deleted.");
      },
      { detail: { summary: "Delete a builder", tags: ["builders"] } },
    )
    .post(
      "/:uuid/start",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.uuid);
        if (agent.liveVersion !== null && agent.liveVersion === agent.latestVersion) return ok(await b.view(agent), "Already running.");
        await deps.deployer.request(agent);
        return ok(await b.view(await getAgent(deps.db, principal.workspaceId, agent.id)), "Deployment started.");
      },
      { detail: { summary: "Start (deploy) a builder", tags: ["builders"] } },
    )
    .post(
      "/:uuid/stop",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.uuid);
        await deps.deployer.stop(agent);
        return ok(await b.view(await getAgent(deps.db, principal.workspaceId, agent.id)), "Stopped; versions are kept.");
      },
      { detail: { summary: "Stop a builder (undeploy; versions are kept)", tags: ["builders"] } },
    )
    .get(
      "/:uuid/logs",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.uuid);
        await deps.invocations.flush();
        return ok({
          invocations: (await deps.invocations.list(agent.id, { limit: 50, cursor: null })).data,
          console: await deps.invocations.recentLogs(agent.id, 200),
          runs: (await deps.scheduleRuns?.(agent.id)) ?? [],
        });
      },
      { detail: { summary: "Recent invocations, console lines and scheduled runs", tags: ["builders"] } },
    )
    .get(
      "/:uuid/files",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.uuid);
        const n = agent.liveVersion ?? agent.latestVersion;
        if (n === null) throw new AppError("version_not_found", "The builder has no version yet.");
        const v = await getVersion(deps.db, agent.id, n);
        return ok({ version: v.number, entrypoint: v.entrypoint, files: Object.entries(v.files).map(([path, content]) => ({ path, content, size: content.length })) });
      },
      { detail: { summary: "Source files of the builder's live (or newest) version", tags: ["builders"] } },
    );
}
