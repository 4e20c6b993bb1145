/**
 * Job events: the append-only log behind GET /v1/generate/{id} and its SSE stream, and the
 * fan-out of new events to this process's subscribers. Rows are written inside the caller's
 * transaction; a subscriber never sees an event that rolled back.
 *
 * On SQLite (one process, every write through the gate) the rows a transaction wrote are
 * handed to subscribers as it commits. On PostgreSQL the job may run on another node: every
 * transaction that writes events publishes `job.event` {jobId, eventId} on the bus (ids, never
 * rows: a NOTIFY payload stays under 8000 bytes), and a node with subscribers for that job
 * reads `job_events WHERE id > last delivered` (catch-up), in order, one read at a time per
 * job. The same catch-up runs after a bus resync (the LISTEN connection was re-established,
 * notifications may have been lost) and on a slow backstop timer (in case LISTEN silently
 * stops, e.g. behind a transaction-pooling proxy). The cursor is sound because a job's events
 * are only written while its row is locked (JobStore), so per job, id order is commit order.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { jobEvents } from "../db/schema";
import type { Db, DbOrTx, Tx, Unsubscribe } from "../db";
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

/** The id of the job's newest event (0 when it has none). */
async function lastEventId(ex: DbOrTx, jobId: string): Promise<number> {
  const row = (await ex.select({ id: sql<number>`coalesce(max(${jobEvents.id}), 0)`.mapWith(Number) }).from(jobEvents).where(eq(jobEvents.jobId, jobId)))[0];
  return row?.id ?? 0;
}

type Listener = (e: JobEventRow) => void;

/** One followed job: its listeners, the last event id handed to them, and the catch-up chain. */
interface Followed {
  listeners: Set<Listener>;
  /** Last event id delivered; events after it are read on the next catch-up. */
  cursor: number;
  /** Reads run one after another, so events are delivered in order and once. */
  chain: Promise<void>;
  /** A catch-up is queued and has not started its read yet (later requests join it). */
  queued: boolean;
}

/** How the event fan-out reaches other nodes. */
export interface EventBusOptions {
  /**
   * Deliver the rows a local commit wrote directly (SQLite: the gate orders every write, and
   * no other node writes). When false (PostgreSQL), subscribers are fed by catch-up reads.
   */
  direct: boolean;
  /** Backstop catch-up interval while anything is subscribed (ms; 0 = none). Default 10 000 when not direct (the bus also resyncs when LISTEN stops delivering: pg-bus.ts heartbeat). */
  catchUpMs?: number;
  /** A catch-up read failed (the database refused it; the next message or backstop retries). */
  onError?: (e: unknown) => void;
}

/** Fan-out of committed job events to this process's subscribers, keyed by job id. */
export class EventBus {
  private readonly followed = new Map<string, Followed>();
  private unsubscribeBus: Unsubscribe | undefined;
  private backstop: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly db: Db,
    private readonly opts: EventBusOptions = { direct: true },
  ) {}

  /**
   * Calls `listener` with each event of `jobId` committed after this call (in id order, each
   * once), whichever node wrote it. Subscribe first, then read the backlog (`listEvents`) and
   * skip ids already seen: an event committed in between may come through both.
   */
  subscribe(jobId: string, listener: Listener): () => void {
    let f = this.followed.get(jobId);
    if (!f) {
      f = { listeners: new Set(), cursor: 0, chain: Promise.resolve(), queued: false };
      this.followed.set(jobId, f);
      if (!this.opts.direct) {
        const state = f;
        // Start after what exists now; catch-ups queue behind this read.
        state.chain = lastEventId(this.db, jobId).then(
          (id) => void (state.cursor = Math.max(state.cursor, id)),
          (e) => this.opts.onError?.(e),
        );
        this.listen();
      }
    }
    f.listeners.add(listener);
    const state = f;
    return () => {
      state.listeners.delete(listener);
      if (state.listeners.size === 0 && this.followed.get(jobId) === state) {
        this.followed.delete(jobId);
        if (this.followed.size === 0) this.unlisten();
      }
    };
  }

  /** Called when a transaction of this process that wrote `events` has committed. */
  emit(events: JobEventRow[]): void {
    if (!this.opts.direct) {
      // Another node may have committed earlier ids for the same job that we have not read
      // yet: go through the ordered catch-up instead of delivering these rows out of turn.
      for (const jobId of new Set(events.map((e) => e.jobId))) this.catchUp(jobId);
      return;
    }
    for (const e of events) {
      const f = this.followed.get(e.jobId);
      if (f) this.deliver(f, e);
    }
  }

  /** Reads every followed job's events after its cursor (after a resync, and on the backstop). */
  catchUpAll(): void {
    for (const jobId of this.followed.keys()) this.catchUp(jobId);
  }

  private deliver(f: Followed, e: JobEventRow): void {
    if (e.id <= f.cursor) return;
    f.cursor = e.id;
    for (const listener of [...f.listeners]) {
      try {
        listener(e);
      } catch {
        // A broken subscriber (a closed SSE stream) must not break the job.
      }
    }
  }

  private catchUp(jobId: string): void {
    const f = this.followed.get(jobId);
    if (!f || f.queued) return;
    f.queued = true;
    f.chain = f.chain.then(async () => {
      f.queued = false;
      if (this.followed.get(jobId) !== f) return;
      try {
        for (const e of await listEvents(this.db, jobId, f.cursor)) this.deliver(f, e);
      } catch (e) {
        this.opts.onError?.(e);
      }
    });
  }

  private listen(): void {
    if (this.unsubscribeBus) return;
    this.unsubscribeBus = this.db.bus.subscribe(
      "job.event",
      (m) => {
        const f = this.followed.get(m.jobId);
        if (f && m.eventId > f.cursor) this.catchUp(m.jobId);
      },
      () => this.catchUpAll(),
    );
    const every = this.opts.catchUpMs ?? 10_000;
    if (every > 0) {
      this.backstop = setInterval(() => this.catchUpAll(), every);
      this.backstop.unref?.();
    }
  }

  private unlisten(): void {
    this.unsubscribeBus?.();
    this.unsubscribeBus = undefined;
    clearInterval(this.backstop);
    this.backstop = undefined;
  }
}
