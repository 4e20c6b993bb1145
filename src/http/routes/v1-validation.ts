/** /v1/validation: re-run validation of an agent's version as a job; read jobs and reports. */
import { Elysia, t } from "elysia";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import { versions } from "../../db/schema";
import { getAgent } from "../../agents";
import { getVersion } from "../../deploy";
import { AppError } from "../../errors";
import { generationJobView } from "../../generate/views";
import { iso } from "../../lib/time";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";

export function v1ValidationRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-validation", prefix: "/v1/validation" })
    .use(authPlugin(deps.verifier))
    .post(
      "/:agentId/validate",
      async ({ params, body, principal, set }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.agentId);
        const n = body?.version ?? agent.liveVersion ?? agent.latestVersion;
        if (n === null || n === undefined) throw new AppError("agent_not_ready", "The agent has no version to validate yet.");
        await getVersion(deps.db, agent.id, n);
        const job = await deps.db.tx((tx) =>
          deps.jobs.enqueueInTx(tx, "validate", { agentId: agent.id, version: n }, { workspaceId: principal.workspaceId, agentId: agent.id }),
        );
        set.status = 202;
        return { data: { jobId: job.id, agentId: agent.id, version: n, status: "queued" } };
      },
      {
        body: t.Optional(t.Object({ version: t.Optional(t.Integer({ minimum: 1 })) })),
        detail: { summary: "Re-run validation (worked examples and invalid-input probes) of the live or newest version, as a job", tags: ["validation"] },
      },
    )
    .get(
      "/jobs/:jobId",
      async ({ params, principal }) => {
        const job = await deps.jobs.get(params.jobId);
        if (!job || job.workspaceId !== principal.workspaceId || job.kind !== "validate") throw new AppError("job_not_found");
        const view = generationJobView(job, await deps.jobs.events(job.id), null);
        return { data: { ...view, report: (job.result as { report?: unknown } | null)?.report ?? null } };
      },
      { detail: { summary: "A validation job with its report", tags: ["validation"] } },
    )
    .get(
      "/agents/:agentId/reports",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.agentId);
        const rows = await deps.db
          .select({ number: versions.number, validation: versions.validation, createdAt: versions.createdAt })
          .from(versions)
          .where(and(eq(versions.agentId, agent.id), isNotNull(versions.validation)))
          .orderBy(desc(versions.number))
          .limit(50);
        return { data: rows.map((r) => ({ version: r.number, report: r.validation, versionCreatedAt: iso(r.createdAt) })) };
      },
      { detail: { summary: "Validation reports of an agent's versions, newest first", tags: ["validation"] } },
    );
}
