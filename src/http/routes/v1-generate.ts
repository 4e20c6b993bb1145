/** /v1/generate: start a generation, read it, stream it (SSE), cancel it. */
import { Elysia, t } from "elysia";
import { AppError } from "../../errors";
import { startGeneration } from "../../generate/start";
import { GenerateBody } from "../schemas";
import { authPlugin } from "../auth";
import { jobView, workspaceJob } from "../job-views";
import type { HttpDeps } from "../deps";
import type { JobRow } from "../jobs-port";
import { jobEventStream } from "../sse";

export function v1GenerateRoutes(deps: HttpDeps) {
  const jobFor = (workspaceId: string, jobId: string): Promise<JobRow> => workspaceJob(deps, workspaceId, jobId);
  const view = (job: JobRow) => jobView(deps, job);
  return new Elysia({ name: "v1-generate", prefix: "/v1/generate" })
    .get(
      "/:jobId/stream",
      async ({ params, query, request }) => {
        // EventSource cannot send headers: a signed stream token in ?token= works too.
        let workspaceId: string;
        if (query.token) workspaceId = deps.signer.verify(query.token, "stream", params.jobId);
        else workspaceId = (await deps.verifier.principalOf(request)).workspaceId;
        const job = await jobFor(workspaceId, params.jobId);
        const last = Number(request.headers.get("last-event-id") ?? query.lastEventId ?? 0);
        return jobEventStream(deps.jobs, job.id, Number.isFinite(last) ? last : 0, deps.stopping);
      },
      {
        query: t.Object({ token: t.Optional(t.String()), lastEventId: t.Optional(t.String()) }),
        detail: {
          summary: "Server-Sent Events for a job: progress, log, status, then done. Resumes after Last-Event-ID. Auth: platform token or ?token= from stream-token",
          tags: ["generate"],
        },
      },
    )
    .use(authPlugin(deps.verifier))
    .post(
      "",
      async ({ body, principal, set }) => {
        if (!deps.llm.configured) throw new AppError("model_not_configured");
        const result = await startGeneration({ db: deps.db, jobs: deps.jobs, provider: deps.llm.provider, defaultModel: deps.llm.defaultModel, maxAgents: deps.config.workspaceMaxAgents }, principal.workspaceId, body);
        const model = result.model;
        set.status = 202;
        return {
          data: {
            agent: { id: result.agent.id, slug: result.agent.slug, name: result.agent.name, status: "generating" as const },
            job: { id: result.jobId, status: "queued" as const, progress: 0, provider: deps.llm.provider, model },
          },
        };
      },
      {
        body: GenerateBody,
        detail: { summary: "Generate a backend from plain-English requirements (202; runs as a job)", tags: ["generate"] },
        response: {
          202: t.Object({
            data: t.Object({
              agent: t.Object({ id: t.String(), slug: t.String(), name: t.String(), status: t.Literal("generating") }),
              job: t.Object({ id: t.String(), status: t.Literal("queued"), progress: t.Integer(), provider: t.String(), model: t.String() }),
            }),
          }),
        },
      },
    )
    .get("/:jobId", async ({ params, principal }) => ({ data: await view(await jobFor(principal.workspaceId, params.jobId)) }), {
      detail: { summary: "Status, progress, logs, artifact, validation and failure of a job", tags: ["generate"] },
    })
    .post(
      "/:jobId/stream-token",
      async ({ params, principal }) => {
        const job = await jobFor(principal.workspaceId, params.jobId);
        const { token, expiresAt } = deps.signer.sign("stream", job.id, principal.workspaceId, 60_000);
        return { data: { token, expiresAt: new Date(expiresAt).toISOString(), url: `${deps.baseUrl}/v1/generate/${job.id}/stream?token=${encodeURIComponent(token)}` } };
      },
      {
        detail: { summary: "A signed token (60 s to open) for the job's event stream, for EventSource clients", tags: ["generate"] },
        response: t.Object({ data: t.Object({ token: t.String(), expiresAt: t.String(), url: t.String() }) }),
      },
    )
    .post(
      "/:jobId/cancel",
      async ({ params, principal }) => {
        const job = await jobFor(principal.workspaceId, params.jobId);
        if (["completed", "failed", "cancelled"].includes(job.status)) throw new AppError("job_not_cancellable", `The job is already ${job.status}.`);
        await deps.jobs.cancel(job.id);
        return { data: await view(await jobFor(principal.workspaceId, params.jobId)) };
      },
      { detail: { summary: "Cancel a queued or running job", tags: ["generate"] } },
    );
}
