/**
 * Every SQL statement on the jobs table lives here (with events.ts), so a database port
 * touches only this folder. Every write runs in a transaction (`db.tx`): on SQLite through the
 * write gate (BEGIN IMMEDIATE, one writer at a time); on PostgreSQL transactions of every
 * node run concurrently (READ COMMITTED), so:
 *
 * - a claim picks its job with `FOR UPDATE SKIP LOCKED` (a job another node is claiming is
 *   skipped, not waited for), and fails expired last attempts it has locked the same way;
 * - every other transaction that settles a job first locks its row (`FOR UPDATE`), and every
 *   settle is a conditional UPDATE on the state it read, emitting its events only when a row
 *   changed: two nodes racing to settle one job (a lost lease, recover, finish, cancel)
 *   never settle it twice;
 * - a job's events are only written while its row is locked, so per job, event id order is
 *   commit order (what events.ts's catch-up cursor relies on).
 *
 * Writes by a worker are conditioned on its lease, so a worker that lost its lease (it
 * stalled and another took over) cannot overwrite the new owner's state. Events written in a
 * transaction reach subscribers once it commits (events.ts), and a job made claimable now
 * publishes `job.queued`, which wakes idle queues on every node (queue.ts).
 */
import { and, asc, count, desc, eq, gte, inArray, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { Db, Tx } from "../db";
import { dialect, jobs } from "../db/schema";
import { EventBus, insertEvent, listEvents, type NewEvent } from "./events";
import type { Clock, JobEventRow, JobRow } from "./types";

type Emit = (e: Omit<NewEvent, "at">) => Promise<void>;

type Patch = Partial<typeof jobs.$inferInsert>;

type LogEvent = Omit<NewEvent, "at" | "jobId">;

const claimable = (now: number) =>
  or(and(eq(jobs.status, "queued"), lte(jobs.runAt, now)), and(eq(jobs.status, "running"), lt(jobs.leaseUntil, now)));

/**
 * Locks the rows `query` returns until the transaction ends: `FOR UPDATE` (with SKIP LOCKED:
 * rows another transaction holds are left out instead of waited for) on PostgreSQL; the query
 * as is on SQLite, where the write gate already runs one transaction at a time.
 */
function locking<Q>(query: Q, skipLocked = false): Q {
  if (dialect() !== "postgres") return query;
  return (query as unknown as { for(strength: "update", config?: { skipLocked?: boolean }): Q }).for("update", skipLocked ? { skipLocked: true } : undefined);
}

/** The row still has the status and lease owner `job` was read with. */
const unchanged = (job: JobRow) => and(eq(jobs.id, job.id), eq(jobs.status, job.status), job.leaseOwner === null ? isNull(jobs.leaseOwner) : eq(jobs.leaseOwner, job.leaseOwner));

export class JobStore {
  constructor(
    readonly db: Db,
    readonly bus: EventBus,
    private readonly clock: Clock,
  ) {}

  /** Jobs waiting or running, counted by kind and status (for the queue-depth metric). */
  async depth(): Promise<{ kind: string; status: string; count: number }[]> {
    return await this.db
      .select({ kind: jobs.kind, status: jobs.status, count: count() })
      .from(jobs)
      .where(inArray(jobs.status, ["queued", "running"]))
      .groupBy(jobs.kind, jobs.status);
  }

  /** An agent's jobs (optionally of one kind), newest first (ids sort by time). */
  async list(filter: { agentId: string; kind?: string; limit?: number }): Promise<JobRow[]> {
    const byAgent = eq(jobs.agentId, filter.agentId);
    return await this.db
      .select()
      .from(jobs)
      .where(filter.kind ? and(byAgent, eq(jobs.kind, filter.kind)) : byAgent)
      .orderBy(desc(jobs.id))
      .limit(filter.limit ?? 50);
  }

  /** True when a job tagged with the agent is queued or running. */
  async hasActive(agentId: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.agentId, agentId), inArray(jobs.status, ["queued", "running"])))
      .limit(1);
    return rows.length > 0;
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * Runs fn in a write transaction; once it commits, the events it wrote reach this process's
   * subscribers, and (one `job.event` per job, with its last event id) every other node's.
   */
  private write<T>(fn: (tx: Tx, emit: Emit) => Promise<T>): Promise<T> {
    return this.db.tx(async (tx) => {
      const written: JobEventRow[] = [];
      const at = this.now();
      tx.onCommit(() => this.bus.emit(written));
      const result = await fn(tx, async (e) => {
        written.push(await insertEvent(tx, { ...e, at }));
      });
      const last = new Map<string, number>();
      for (const e of written) last.set(e.jobId, Math.max(last.get(e.jobId) ?? 0, e.id));
      for (const [jobId, eventId] of last) tx.publish("job.event", { jobId, eventId });
      return result;
    });
  }

  async insert(ex: Tx, row: { id: string; kind: string; payload: unknown; workspaceId?: string; agentId?: string; maxAttempts: number; runAt?: number }): Promise<JobRow> {
    const now = this.now();
    const inserted = (await ex
      .insert(jobs)
      .values({ ...row, workspaceId: row.workspaceId ?? null, agentId: row.agentId ?? null, status: "queued", runAt: row.runAt ?? now, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning())[0];
    if (!inserted) return (await ex.select().from(jobs).where(eq(jobs.id, row.id)).limit(1))[0]!;
    await insertEvent(ex, { jobId: row.id, type: "status", message: "queued", data: { status: "queued" }, at: now });
    if (inserted.runAt <= now) ex.publish("job.queued", { jobId: inserted.id, kind: inserted.kind });
    return inserted;
  }

  async get(id: string): Promise<JobRow | undefined> {
    return (await this.db.select().from(jobs).where(eq(jobs.id, id)).limit(1))[0];
  }

  events(id: string, afterId?: number): Promise<JobEventRow[]> {
    return listEvents(this.db, id, afterId);
  }

  /**
   * Takes the next due job of one of `kinds` (queued and due, or running with an expired
   * lease) for `owner`. Expired jobs with no attempts left are failed (or cancelled) first.
   * Fair across workspaces: the job of the workspace with the fewest jobs running (on any
   * node) goes first, then the oldest. A job of a kind not in `roomyKinds` (the queue's last
   * free slot for it) is taken only for a workspace with no job running, or a job without a
   * workspace: so one workspace's jobs, which mostly wait on the model, never hold every
   * slot while another workspace's job waits.
   */
  async claim(kinds: string[], owner: string, leaseMs: number, roomyKinds: string[] = kinds): Promise<JobRow | undefined> {
    if (kinds.length === 0) return undefined;
    return this.write(async (tx, emit) => {
      const now = this.now();
      const expired = and(eq(jobs.status, "running"), lt(jobs.leaseUntil, now));
      const lost = await locking(tx.select().from(jobs).where(and(expired, or(gte(jobs.attempts, jobs.maxAttempts), eq(jobs.cancelRequested, true)))).orderBy(asc(jobs.id)), true);
      for (const j of lost) {
        if (j.cancelRequested) await this.settle(tx, emit, j, "cancelled", {}, { reason: "cancelled; its worker stopped answering" }, { guard: lt(jobs.leaseUntil, now) });
        else await this.settle(tx, emit, j, "failed", { failure: { code: "interrupted", message: `worker ${j.leaseOwner} stopped answering (lease expired) during the last attempt (${j.attempts} of ${j.maxAttempts})`, stage: j.stage ?? undefined } }, {}, { guard: lt(jobs.leaseUntil, now) });
      }
      // Jobs its workspace has running (live leases); a job without a workspace counts those without one.
      const running = sql`(SELECT count(*) FROM jobs AS r WHERE r.workspace_id IS NOT DISTINCT FROM ${jobs.workspaceId} AND r.status = 'running' AND r.lease_until >= ${now})`;
      const fair = or(roomyKinds.length ? inArray(jobs.kind, roomyKinds) : sql`false`, sql`${jobs.workspaceId} IS NULL`, sql`${running} = 0`);
      const next = (await locking(
        tx.select({ id: jobs.id, status: jobs.status, leaseOwner: jobs.leaseOwner }).from(jobs).where(and(inArray(jobs.kind, kinds), claimable(now), fair)).orderBy(asc(running), asc(jobs.runAt), asc(jobs.id)).limit(1),
        true,
      ))[0];
      if (!next) return undefined;
      const job = (await tx
        .update(jobs)
        .set({ status: "running", attempts: sql`${jobs.attempts} + 1`, leaseOwner: owner, leaseUntil: now + leaseMs, startedAt: sql`coalesce(${jobs.startedAt}, ${now})`, updatedAt: now })
        .where(and(eq(jobs.id, next.id), claimable(now)))
        .returning())[0];
      if (!job) return undefined;
      const takeover = next.status === "running" ? { takenOverFrom: next.leaseOwner } : {};
      await emit({ jobId: job.id, type: "status", message: "running", data: { status: "running", attempt: job.attempts, worker: owner, ...takeover } });
      return job;
    });
  }

  /** Extends the lease; undefined when this owner no longer holds it. */
  async renew(id: string, owner: string, leaseMs: number): Promise<{ cancelRequested: boolean } | undefined> {
    const now = this.now();
    return this.db.tx(async (tx) => (await tx
      .update(jobs)
      .set({ leaseUntil: now + leaseMs })
      .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, "running")))
      .returning({ cancelRequested: jobs.cancelRequested }))[0]);
  }

  /** Progress and logs from a handler; dropped when the lease is gone. */
  async report(id: string, owner: string, event: Omit<NewEvent, "at" | "jobId">, progress?: { pct: number; stage?: string }): Promise<void> {
    await this.write(async (tx, emit) => {
      const held = (await tx
        .update(jobs)
        .set({ updatedAt: this.now(), ...(progress ? { progress: progress.pct, ...(progress.stage !== undefined ? { stage: progress.stage } : {}) } : {}) })
        .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, "running")))
        .returning({ id: jobs.id }))[0];
      if (held) await emit({ ...event, jobId: id });
    });
  }

  /** Ends or requeues a running job this owner holds; false when the lease was lost. */
  finish(id: string, owner: string, status: "completed" | "failed" | "cancelled" | "queued", patch: Patch, data: Record<string, unknown> = {}, log?: LogEvent): Promise<boolean> {
    return this.write(async (tx, emit) => {
      const job = (await locking(tx.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, "running"))).limit(1)))[0];
      if (!job) return false;
      return this.settle(tx, emit, job, status, patch, data, { log });
    });
  }

  /**
   * Moves `job` (as read, its row locked) to `status`: a conditional UPDATE on the status and
   * lease owner it was read with (and `guard`), so a settle that lost a race changes nothing;
   * then `log` and the status event. Returns whether the row changed. A job requeued to run
   * now publishes `job.queued`.
   */
  private async settle(tx: Tx, emit: Emit, job: JobRow, status: string, patch: Patch, data: Record<string, unknown> = {}, o: { log?: LogEvent; guard?: SQL } = {}): Promise<boolean> {
    const now = this.now();
    const terminal = status !== "queued";
    const changed = await tx
      .update(jobs)
      .set({ status, leaseOwner: null, leaseUntil: null, updatedAt: now, ...(terminal ? { finishedAt: now } : {}), ...patch })
      .where(and(unchanged(job), o.guard))
      .returning({ runAt: jobs.runAt });
    if (changed.length === 0) return false;
    if (o.log) await emit({ ...o.log, jobId: job.id });
    const failure = patch.failure;
    await emit({ jobId: job.id, type: "status", message: status, data: { status, attempt: job.attempts, ...(failure ? { failure } : {}), ...data } });
    if (status === "queued" && changed[0]!.runAt <= now) tx.publish("job.queued", { jobId: job.id, kind: job.kind });
    return true;
  }

  /** Queued → cancelled now; running → cancelRequested (its worker aborts it). */
  async requestCancel(id: string): Promise<JobRow | undefined> {
    return this.write(async (tx, emit) => {
      const job = (await locking(tx.select().from(jobs).where(eq(jobs.id, id)).limit(1)))[0];
      if (!job) return undefined;
      if (job.status === "queued") await this.settle(tx, emit, job, "cancelled", {}, { reason: "cancelled before it started" });
      else if (job.status === "running" && !job.cancelRequested) {
        const marked = await tx.update(jobs).set({ cancelRequested: true, updatedAt: this.now() }).where(and(unchanged(job), eq(jobs.cancelRequested, false))).returning({ id: jobs.id });
        if (marked.length) {
          await emit({ jobId: id, type: "log", level: "warn", message: "cancel requested" });
          tx.publish("job.cancel", { jobId: id });
        }
      }
      return (await tx.select().from(jobs).where(eq(jobs.id, id)).limit(1))[0];
    });
  }

  /** Running jobs left by a previous life of `workerId`: requeued if attempts remain, else failed. */
  async recover(workerId: string, currentOwner: string): Promise<{ requeued: string[]; failed: string[]; cancelled: string[] }> {
    const out = { requeued: [] as string[], failed: [] as string[], cancelled: [] as string[] };
    const prefix = `${workerId}#`;
    await this.write(async (tx, emit) => {
      // Locked in id order (two recovering transactions never wait on each other in a cycle).
      const stale = await locking(
        tx
          .select()
          .from(jobs)
          .where(and(eq(jobs.status, "running"), sql`substr(${jobs.leaseOwner}, 1, ${prefix.length}) = ${prefix}`, sql`${jobs.leaseOwner} <> ${currentOwner}`))
          .orderBy(asc(jobs.id)),
      );
      for (const j of stale) {
        const why = `interrupted by restart (attempt ${j.attempts} of ${j.maxAttempts})`;
        if (j.cancelRequested) {
          if (await this.settle(tx, emit, j, "cancelled", {}, { reason: why })) out.cancelled.push(j.id);
        } else if (j.attempts < j.maxAttempts) {
          if (await this.settle(tx, emit, j, "queued", { runAt: this.now() }, { reason: why }, { log: { type: "log", level: "warn", message: `${why}; requeued` } })) out.requeued.push(j.id);
        } else if (await this.settle(tx, emit, j, "failed", { failure: { code: "interrupted", message: why, stage: j.stage ?? undefined } })) out.failed.push(j.id);
      }
    });
    return out;
  }
}
