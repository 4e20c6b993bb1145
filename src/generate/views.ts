/**
 * The public shape of a generation job (GET /v1/generate/{jobId}) built from the job row,
 * its events and the agent.
 */
import type { jobs, jobEvents } from "../db/schema";
import { iso } from "../lib/time";

type JobRow = typeof jobs.$inferSelect;
type EventRow = typeof jobEvents.$inferSelect;

export function generationJobView(job: JobRow, events: EventRow[], agent: { id: string; slug: string } | null) {
  const result = (job.result ?? {}) as { artifact?: unknown; validation?: unknown; deployed?: boolean };
  const payload = job.payload as { provider?: string; model?: string };
  return {
    id: job.id,
    kind: job.kind,
    agentId: agent?.id ?? job.agentId,
    agentSlug: agent?.slug ?? null,
    status: job.status,
    progress: job.progress,
    stage: job.stage,
    provider: payload.provider ?? null,
    model: payload.model ?? null,
    attempts: job.attempts,
    logs: events
      .filter((e) => e.type === "log")
      .map((e) => ({ id: e.id, at: iso(e.at), level: e.level ?? "info", message: e.message ?? "" })),
    artifact: result.artifact ?? null,
    validation: result.validation ?? null,
    failure: job.failure ?? null,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
  };
}

/** One SSE frame for a job event. */
export function sseFrame(e: EventRow): string {
  const data = e.type === "log" ? { level: e.level, message: e.message, at: iso(e.at) } : { ...(e.data as object), message: e.message, at: iso(e.at) };
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`;
}
