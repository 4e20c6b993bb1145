/**
 * The job table's share of retention: the SQL that removes finished `schedule.run` jobs
 * (their events go by cascade), kept here so every statement on `jobs` lives in src/jobs.
 * The retention pass (src/retention/pruner.ts) decides when to run these and yields to the
 * event loop between batches; each call here deletes at most one batch.
 */
import { sql } from "drizzle-orm";
import { execute, queryRow, type Db } from "../db";

const finishedRuns = (agentId: string) => sql`agent_id = ${agentId} AND kind = 'schedule.run' AND status IN ('completed', 'failed', 'cancelled')`;

export class ScheduleRunPruning {
  constructor(private db: Db) {}

  /** Id of the `keep`-th newest finished run of the agent (runs older than it may go), or null when it has fewer. */
  async oldestKept(agentId: string, keep: number): Promise<string | null> {
    return (await queryRow<{ id: string }>(this.db, sql`SELECT id FROM jobs WHERE ${finishedRuns(agentId)} ORDER BY id DESC LIMIT 1 OFFSET ${keep - 1}`))?.id ?? null;
  }

  /** Deletes up to `limit` finished runs of the agent older than `keptId` that finished before `cutoff` (epoch ms); returns the count. */
  deleteOlder(agentId: string, keptId: string, cutoff: number, limit: number): Promise<number> {
    return this.db.tx((t) =>
      execute(t, sql`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${finishedRuns(agentId)} AND id < ${keptId} AND coalesce(finished_at, 0) < ${cutoff} ORDER BY id LIMIT ${limit})`),
    );
  }

  /** Deletes up to `limit` finished runs whose agent no longer exists (jobs keep no foreign key to agents). */
  deleteOrphans(limit: number): Promise<number> {
    return this.db.tx((t) =>
      execute(
        t,
        sql`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE kind = 'schedule.run' AND status IN ('completed', 'failed', 'cancelled')
              AND agent_id IS NOT NULL AND agent_id NOT IN (SELECT id FROM agents) LIMIT ${limit})`,
      ),
    );
  }
}
