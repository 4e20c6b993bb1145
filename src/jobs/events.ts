/**
 * Job events: the append-only log behind GET /v1/generate/{id} and its SSE stream. Rows
 * are written inside the caller's transaction; listeners in this process are told only
 * after the write is committed, so a subscriber never sees an event that rolled back.
 */
import { and, asc, eq, gt } from "drizzle-orm";
import { jobEvents } from "../db/schema";
import type { DbOrTx, Tx } from "../db";
import type { JobEventRow } from "./types";

export interface NewEvent {
  jobId: string;
  type: "log" | "progress" | "status";
  level?: string;
  message?: string;
  data?: unknown;
  at: number;
}

export async function insertEvent(ex: Tx, e: NewEvent): Promise<JobEventRow> {
  return (await ex
    .insert(jobEvents)
    .values({ jobId: e.jobId, type: e.type, level: e.level ?? null, message: e.message ?? null, data: e.data ?? null, at: e.at })
    .returning())[0]!;
}

export async function listEvents(ex: DbOrTx, jobId: string, afterId = 0): Promise<JobEventRow[]> {
  return await ex.select().from(jobEvents).where(and(eq(jobEvents.jobId, jobId), gt(jobEvents.id, afterId))).orderBy(asc(jobEvents.id));
}

/** In-process fan-out of committed events, keyed by job id. */
export class EventBus {
  private readonly listeners = new Map<string, Set<(e: JobEventRow) => void>>();

  subscribe(jobId: string, listener: (e: JobEventRow) => void): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  emit(events: JobEventRow[]): void {
    for (const e of events) {
      for (const listener of [...(this.listeners.get(e.jobId) ?? [])]) {
        try {
          listener(e);
        } catch {
          // A broken subscriber (a closed SSE stream) must not break the job.
        }
      }
    }
  }
}
