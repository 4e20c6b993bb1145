/**
 * The job table's share of retention: the SQL that removes finished `schedule.run` jobs
 * (their events go by cascade), kept here so every statement on `jobs` lives in src/jobs.
 * The retention pass (src/retention/pruner.ts) decides when to run these and yields to the
 * event loop between batches; each call here deletes at most one batch.
 */
import type { Database } from "bun:sqlite";

const FINISHED_RUNS = "agent_id = ? AND kind = 'schedule.run' AND status IN ('completed', 'failed', 'cancelled')";

export class ScheduleRunPruning {
  constructor(private sqlite: Database) {}

  /** Id of the `keep`-th newest finished run of the agent (runs older than it may go), or null when it has fewer. */
  oldestKept(agentId: string, keep: number): string | null {
    return this.sqlite.query<{ id: string }, [string, number]>(`SELECT id FROM jobs WHERE ${FINISHED_RUNS} ORDER BY id DESC LIMIT 1 OFFSET ?`).get(agentId, keep - 1)?.id ?? null;
  }

  /** Deletes up to `limit` finished runs of the agent older than `keptId` that finished before `cutoff` (epoch ms); returns the count. */
  deleteOlder(agentId: string, keptId: string, cutoff: number, limit: number): number {
    return this.sqlite
      .query<unknown, [string, string, number, number]>(
        `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${FINISHED_RUNS} AND id < ? AND coalesce(finished_at, 0) < ? ORDER BY id LIMIT ?)`,
      )
      .run(agentId, keptId, cutoff, limit).changes;
  }

  /** Deletes up to `limit` finished runs whose agent no longer exists (jobs keep no foreign key to agents). */
  deleteOrphans(limit: number): number {
    return this.sqlite
      .query<unknown, [number]>(
        `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE kind = 'schedule.run' AND status IN ('completed', 'failed', 'cancelled')
           AND agent_id IS NOT NULL AND agent_id NOT IN (SELECT id FROM agents) LIMIT ?)`,
      )
      .run(limit).changes;
  }
}
