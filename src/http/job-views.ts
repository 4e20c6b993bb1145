/**
 * Reading a generation job as a workspace member sees it: another workspace's job does not
 * exist (404 `job_not_found`), and the view carries the agent's id and slug. Shared by
 * `/v1/generate/{jobId}` and the platform MCP server's job tools.
 */
import { eq } from "drizzle-orm";
import { agents } from "../db/schema";
import { AppError } from "../errors";
import { generationJobView } from "../generate/views";
import type { HttpDeps } from "./deps";
import type { JobRow } from "./jobs-port";

/** The job, when it belongs to `workspaceId`; else 404 `job_not_found`. */
export async function workspaceJob(deps: Pick<HttpDeps, "jobs">, workspaceId: string, jobId: string): Promise<JobRow> {
  const job = await deps.jobs.get(jobId);
  if (!job || job.workspaceId !== workspaceId) throw new AppError("job_not_found");
  return job;
}

/** The job's public view (status, progress, logs, artifact, validation, failure). */
export async function jobView(deps: Pick<HttpDeps, "db" | "jobs">, job: JobRow) {
  const agent = job.agentId ? (await deps.db.select({ id: agents.id, slug: agents.slug }).from(agents).where(eq(agents.id, job.agentId)).limit(1))[0] : undefined;
  return generationJobView(job, await deps.jobs.events(job.id), agent ?? null);
}
