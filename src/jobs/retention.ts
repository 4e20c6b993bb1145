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

  /**
   * The next agent id (after `after`, in index order) that has jobs, and whether that agent
   * still exists; null past the last. One seek of the `jobs_agent` index each, so walking
   * every agent that has jobs costs one read per agent, however many jobs they have (a
   * single statement looking for orphans read every finished run: ~1 million of them, a
   * minutely cron's week over 100 agents, held the loop and the write lock ~320 ms).
   */
  async nextAgentWithJobs(after: string | null): Promise<{ agentId: string; exists: boolean } | null> {
    const r = await queryRow<{ agentId: string; exists: number | boolean }>(
      this.db,
      sql`SELECT j.agent_id AS "agentId", EXISTS (SELECT 1 FROM agents a WHERE a.id = j.agent_id) AS "exists"
            FROM jobs j WHERE j.agent_id > ${after ?? ""} ORDER BY j.agent_id LIMIT 1`,
    );
    return r ? { agentId: r.agentId, exists: Boolean(r.exists) } : null;
  }

  /** Deletes up to `limit` finished runs of an agent that no longer exists (jobs keep no foreign key to agents); returns the count. */
  deleteRunsOfGone(agentId: string, limit: number): Promise<number> {
    return this.db.tx((t) => execute(t, sql`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${finishedRuns(agentId)} LIMIT ${limit})`));
  }
}
