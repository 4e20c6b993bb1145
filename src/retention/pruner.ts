/**
 * Retention for the tables that grow with traffic or time: `invocations`, `agent_logs`, and
 * the finished `schedule.run` jobs a cron schedule adds every minute (their events go with
 * them by cascade; the newest SCHEDULE_RUNS_KEPT per agent and any younger than the age
 * limit stay, so the dashboard's "scheduled runs" list is unaffected; those of deleted agents
 * go, since jobs keep no foreign key to agents).
 * Per agent, rows older than the maximum age, beyond the maximum row count, and (for logs)
 * beyond the maximum bytes of message text are deleted, newest kept, in small batches with
 * a pause between them at least as long as the batch took, and the reads that find the
 * limits pause likewise once they add up to a few ms (src/lib/pacing.ts), so a pass never
 * holds the write lock or the loop for long and takes at most about half of the main thread.
 * Afterwards, on SQLite, free pages are handed back to the file system with incremental
 * vacuum in small paced steps (the database is opened with auto_vacuum=INCREMENTAL, see
 * src/db/client.ts); on PostgreSQL autovacuum reclaims the space and `pagesFreed` stays 0.
 * Every delete batch is its own write transaction (through the gate on SQLite), so other
 * writers (the invocation log, kv, jobs) take turns with it. The SQL is valid on both
 * dialects: no rowid, `octet_length` for bytes, ids read back as numbers (PostgreSQL answers
 * a bigint as a string). On a cluster one node runs a pass per interval (src/boot.ts).
 *
 * Ids are assigned in insertion order and `at` is the insertion time, so "older than the
 * cutoff" is taken as "id up to the newest row older than the cutoff".
 */
import { sql } from "drizzle-orm";
import { dialect, execute, queryRow, queryRows, type Db } from "../db";
import { ScheduleRunPruning } from "../jobs/retention";
import { Pacer } from "../lib/pacing";

/** Retention limits; each applies per agent. 0 disables that limit. */
export interface RetentionPolicy {
  /** Maximum age of invocation rows and log lines, in days. */
  maxAgeDays: number;
  /** Invocation rows kept per agent (newest first). */
  maxInvocations: number;
  /** Log lines kept per agent. */
  maxLogLines: number;
  /** Bytes of log message text (UTF-8) kept per agent. */
  maxLogBytes: number;
  /**
   * Versions kept per agent, newest by number (each holds source, bundle and reports: up to
   * a few MB). The live version and one a deployment is moving to are always kept.
   * Optional for callers that predate it; 0 or absent keeps every version.
   */
  maxVersions?: number;
}

export interface PruneResult {
  invocations: number;
  logs: number;
  /** Finished schedule.run jobs removed. */
  jobs: number;
  /** Old versions removed. */
  versions: number;
  pagesFreed: number;
}

/** Finished schedule.run jobs kept per agent regardless of age. */
export const SCHEDULE_RUNS_KEPT = 200;

/** Rows one delete statement removes (each its own write transaction). */
const BATCH = 500;
const VERSION_BATCH = 20;
/**
 * Pages one `incremental_vacuum` step moves. Small (issue 15): on SQLite every step runs
 * synchronously on the main thread, and under sustained invoke load a pass that found
 * ~78,000 free pages held it for up to ~40 ms per 1,000-page step.
 */
export const VACUUM_STEP_PAGES = 64;
/** Most pages one pass hands back (the same bound as 1,000 steps of 1,000 pages); the next pass goes on. */
const VACUUM_PAGES_PER_PASS = 1_000_000;
/** Free pages tolerated before incremental vacuum runs (about 1 MB at 4 KiB pages). */
const VACUUM_MIN_FREE_PAGES = 256;
/** Whether a delete step removed any row (then the pass pauses after it: Pacer.step). */
const removed = (n: number) => n > 0;


export class Pruner {
  private runs: ScheduleRunPruning;

  constructor(
    private db: Db,
    private policy: RetentionPolicy,
    private opts: {
      now?: () => number;
      /** The database's size in bytes (src/db/open.ts `Store.sizeBytes`); without it dbBytes() answers 0. */
      sizeBytes?: () => Promise<number>;
    } = {},
  ) {
    this.runs = new ScheduleRunPruning(db);
  }

  /** Set by stop(): a pass in progress ends at its next step, and later ones do nothing. */
  private stopped = false;
  /** Pauses between the pass's steps (src/lib/pacing.ts). */
  private pacer = new Pacer(dialect() === "sqlite");

  /**
   * For shutdown: a pass in progress ends after the batch or vacuum step under way (each is
   * its own committed transaction, so what it deleted stays deleted and the next start's
   * pass goes on from there), and later passes do nothing. Paced, a busy agent's pass takes
   * seconds (paceAfter); the server's stop waits for the running pass.
   */
  stop(): void {
    this.stopped = true;
  }

  /** One pass over every agent; resolves with what it removed. Errors propagate to the caller's loop. */
  async prune(): Promise<PruneResult> {
    const out: PruneResult = { invocations: 0, logs: 0, jobs: 0, versions: 0, pagesFreed: 0 };
    if (this.stopped) return out;
    const p = this.policy;
    const cutoff = p.maxAgeDays > 0 ? (this.opts.now ?? Date.now)() - p.maxAgeDays * 86_400_000 : null;
    const agentIds = (await this.pacer.read(() => queryRows<{ id: string }>(this.db, sql`SELECT id FROM agents`))).map((r) => r.id);
    for (const agentId of agentIds) {
      if (this.stopped) return out;
      out.invocations += await this.deleteUpTo("invocations", agentId, await this.threshold("invocations", agentId, cutoff, p.maxInvocations, 0));
      out.logs += await this.deleteUpTo("agent_logs", agentId, await this.threshold("agent_logs", agentId, cutoff, p.maxLogLines, p.maxLogBytes));
      out.jobs += await this.deleteScheduleRuns(agentId, cutoff);
      out.versions += await this.deleteOldVersions(agentId, p.maxVersions ?? 0);
    }
    if (this.stopped) return out;
    out.jobs += await this.deleteOrphanRuns();
    if (this.stopped) return out;
    // Whether or not this pass deleted anything: free pages a stopped or killed pass left
    // (or any other delete) go back too. vacuum() reads the free-page count first, so a file
    // with little free space costs one pragma.
    out.pagesFreed = await this.vacuum();
    return out;
  }

  /** Hands free pages back to the file system in steps; returns the pages freed (SQLite; 0 on PostgreSQL, where autovacuum does this). */
  async vacuum(): Promise<number> {
    if (dialect() !== "sqlite") return 0;
    let freed = 0;
    for (let i = 0; i < VACUUM_PAGES_PER_PASS / VACUUM_STEP_PAGES && !this.stopped; i++) {
      const started = performance.now();
      const free = await this.pragma("freelist_count");
      if (free < VACUUM_MIN_FREE_PAGES || (await this.pragma("auto_vacuum")) !== 2) break;
      await this.db.tx((t) => execute(t, sql.raw(`PRAGMA incremental_vacuum(${VACUUM_STEP_PAGES})`)));
      const after = await this.pragma("freelist_count");
      freed += free - after;
      if (after >= free) break;
      await this.pacer.step(performance.now() - started, true);
    }
    return freed;
  }

  /** Size of the database in bytes: the SQLite file with its WAL, or `pg_database_size` (0 when no size source was given). */
  async dbBytes(): Promise<number> {
    return (await this.opts.sizeBytes?.()) ?? 0;
  }

  /** The highest id of `table` for `agentId` that falls outside the limits, or null. */
  private async threshold(table: "invocations" | "agent_logs", agentId: string, cutoff: number | null, maxRows: number, maxBytes: number): Promise<number | null> {
    const ids: number[] = [];
    const t = sql.identifier(table);
    // The row cap first: everything at or below its id goes whatever the other limits say, so
    // the reads after it look only above it (the same answer; each then reads at most maxRows
    // rows, where the age read had walked every line since the cutoff: agent_logs has no
    // index on `at`, and one agent's 1.5 million recent lines took ~225 ms in one piece).
    let pastRows: number | null = null;
    if (maxRows > 0) {
      const r = await this.pacer.read(() => queryRow<{ id: number | string }>(this.db, sql`SELECT id FROM ${t} WHERE agent_id = ${agentId} ORDER BY id DESC LIMIT 1 OFFSET ${maxRows}`));
      if (r) ids.push((pastRows = Number(r.id)));
    }
    const kept = pastRows === null ? sql`` : sql` AND id > ${pastRows}`;
    if (cutoff !== null) {
      const r = await this.pacer.read(() => queryRow<{ id: number | string | null }>(this.db, sql`SELECT max(id) AS id FROM ${t} WHERE agent_id = ${agentId} AND at < ${cutoff}${kept}`));
      if (r?.id != null) ids.push(Number(r.id));
    }
    if (maxBytes > 0 && table === "agent_logs") {
      // The newest line at which the running total (newest first) passes the cap: it and
      // everything older go (only the lines above the row cap's id are summed, as above).
      const r = await this.pacer.read(() =>
        queryRow<{ id: number | string }>(
          this.db,
          sql`SELECT id FROM (SELECT id, sum(octet_length(message)) OVER (ORDER BY id DESC ROWS UNBOUNDED PRECEDING) AS total
                FROM agent_logs WHERE agent_id = ${agentId}${kept}) AS running WHERE total > ${maxBytes} ORDER BY id DESC LIMIT 1`,
        ),
      );
      if (r) ids.push(Number(r.id));
    }
    return ids.length ? Math.max(...ids) : null;
  }

  private async deleteUpTo(table: "invocations" | "agent_logs", agentId: string, upTo: number | null): Promise<number> {
    if (upTo === null) return 0;
    const t = sql.identifier(table);
    return this.batches(() => this.db.tx((tx) => execute(tx, sql`DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE agent_id = ${agentId} AND id <= ${upTo} ORDER BY id LIMIT ${BATCH})`)));
  }

  /** Finished schedule.run jobs of the agent past the newest SCHEDULE_RUNS_KEPT and older than the cutoff. */
  private async deleteScheduleRuns(agentId: string, cutoff: number | null): Promise<number> {
    const keptId = await this.pacer.read(() => this.runs.oldestKept(agentId, SCHEDULE_RUNS_KEPT));
    if (keptId === null) return 0;
    return this.batches(() => this.runs.deleteOlder(agentId, keptId, cutoff ?? Number.MAX_SAFE_INTEGER, BATCH));
  }

  /** Finished schedule.run jobs of agents that no longer exist, found one agent id at a time (ScheduleRunPruning.nextAgentWithJobs). */
  private async deleteOrphanRuns(): Promise<number> {
    let total = 0;
    for (let at = await this.pacer.read(() => this.runs.nextAgentWithJobs(null)); at && !this.stopped; at = await this.pacer.read(() => this.runs.nextAgentWithJobs(at!.agentId))) {
      if (!at.exists) total += await this.batches(() => this.runs.deleteRunsOfGone(at!.agentId, BATCH));
    }
    return total;
  }

  /** Versions past the newest `keep` (by number), except the live one and any a deployment is moving to. */
  private async deleteOldVersions(agentId: string, keep: number): Promise<number> {
    if (keep <= 0) return 0;
    const edge = await this.pacer.read(() => queryRow<{ number: number }>(this.db, sql`SELECT number FROM versions WHERE agent_id = ${agentId} ORDER BY number DESC LIMIT 1 OFFSET ${keep - 1}`));
    if (!edge) return 0;
    // Versions are large rows: small batches keep each statement short.
    const del = sql`DELETE FROM versions WHERE id IN (
         SELECT v.id FROM versions v WHERE v.agent_id = ${agentId} AND v.number < ${edge.number}
           AND v.number IS DISTINCT FROM (SELECT live_version FROM agents WHERE id = ${agentId})
           AND v.number NOT IN (SELECT version FROM deployments WHERE agent_id = ${agentId} AND status = 'deploying')
         ORDER BY v.number LIMIT ${VERSION_BATCH})`;
    let total = 0;
    while (!this.stopped) {
      const n = await this.pacer.time(() => this.db.tx((tx) => execute(tx, del)), removed);
      total += n;
      if (n < VERSION_BATCH) break;
    }
    return total;
  }

  /** Runs a batch delete until it removes fewer than BATCH rows, pausing after each that removed any (Pacer.time). */
  private async batches(run: () => Promise<number>): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const n = await this.pacer.time(run, removed);
      total += n;
      if (n < BATCH) break;
    }
    return total;
  }

  private async pragma(name: "freelist_count" | "auto_vacuum"): Promise<number> {
    const row = await queryRow<Record<string, number>>(this.db, sql.raw(`PRAGMA ${name}`));
    return row ? Number(Object.values(row)[0]) : 0;
  }
}
