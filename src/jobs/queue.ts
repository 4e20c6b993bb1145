/**
 * The queue: a catalogue of job kinds, enqueue (alone or inside the caller's
 * transaction), and a poll loop that claims due jobs while global and per-kind slots are
 * free. Enqueueing and finishing wake the loop at once, a retry when its backoff ends; so
 * does a `job.queued` message on the bus for a kind this queue runs, published in the
 * enqueueing transaction by any node (a NOTIFY on PostgreSQL: an idle node claims within
 * milliseconds). The poll interval is the
 * backstop: it bounds the delay for jobs made due by time (backoff, runAt), for a dead node's
 * jobs whose lease expired, and for wake-ups lost while the bus reconnected (a resync also
 * wakes the loop). A `job.cancel` message (a cancel requested on any node) stops the run here
 * at once; the heartbeat, which reads cancel_requested, is the backstop. start() first
 * recovers jobs a previous life of this worker left running.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { hostname } from "node:os";
import { fieldIssues, invalidRequest } from "../errors";
import { newId, randomBase62 } from "../lib/ids";
import { dialect } from "../db/schema";
import type { Unsubscribe } from "../db";
import { EventBus } from "./events";
import { runJob, type RunHandle } from "./runner";
import { JobStore } from "./store";
import { TERMINAL_STATUSES, type EnqueueOptions, type Executor, type JobEventRow, type JobKind, type JobRow, type JobStatus, type QueueOptions } from "./types";
import { waitForJob } from "./wait";

export interface Queue {
  readonly workerId: string;
  /** workerId#boot-nonce: the lease owner written by this queue instance. */
  readonly owner: string;
  register<S extends TSchema, R>(def: JobKind<S, R>): Queue;
  /** Enqueues in a transaction of its own. */
  enqueue(kind: string, payload: unknown, opts?: EnqueueOptions): Promise<JobRow>;
  /** Enqueues inside the caller's transaction; the queue wakes once it commits. */
  enqueueInTx(tx: Executor, kind: string, payload: unknown, opts?: EnqueueOptions): Promise<JobRow>;
  start(): void;
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  recover(): Promise<{ requeued: string[]; failed: string[]; cancelled: string[] }>;
  cancel(jobId: string): Promise<JobRow | undefined>;
  get(jobId: string): Promise<JobRow | undefined>;
  events(jobId: string, afterId?: number): Promise<JobEventRow[]>;
  subscribe(jobId: string, listener: (e: JobEventRow) => void): () => void;
  waitFor(jobId: string, timeoutMs: number): Promise<JobRow>;
  /** Jobs running in this queue right now. */
  running(): { id: string; kind: string }[];
  /** Jobs waiting or running in the database (every node), by kind and status. */
  depth(): Promise<{ kind: string; status: string; count: number }[]>;
  /** An agent's jobs (optionally of one kind), newest first, at most `limit` (default 50). */
  list(filter: { agentId: string; kind?: string; limit?: number }): Promise<JobRow[]>;
  /** True when a job tagged with the agent is queued or running (on any node). */
  hasActive(agentId: string): Promise<boolean>;
}

export function createQueue(opts: QueueOptions): Queue {
  const clock = opts.clock ?? { now: () => Date.now() };
  const onError = opts.onError ?? ((e, where) => console.error(`[jobs] ${where}:`, e));
  const clustered = dialect() === "postgres";
  const store = new JobStore(opts.db, new EventBus(opts.db, { direct: !clustered, onError: (e) => onError(e, "events") }), clock);
  const workerId = opts.workerId ?? hostname();
  const owner = `${workerId}#${randomBase62(8)}`;
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const pollMs = opts.pollMs ?? (clustered ? 2_000 : 500);
  const leaseMs = opts.leaseMs ?? 30_000;
  const heartbeatMs = opts.heartbeatMs ?? Math.max(10, Math.floor(leaseMs / 3));
  const reserveSlot = opts.reserveSlot ?? (() => true);
  const kinds = new Map<string, JobKind>();
  const runs = new Map<string, RunHandle>();
  let started = false;
  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** A pass asked for on the next turn of the event loop (a wake-up), until it runs. */
  let soon: ReturnType<typeof setImmediate> | undefined;
  let unsubscribeBus: Unsubscribe[] = [];
  // Wake-ups at the time a retried job becomes due (cleared on stop).
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();
  const wakeIn = (ms: number) => {
    if (!started || stopping || ms >= pollMs) return; // the poll comes first
    const t = setTimeout(() => {
      retryTimers.delete(t);
      wake();
    }, ms);
    retryTimers.add(t);
  };

  const prepare = (kind: string, payload: unknown) => {
    const def = kinds.get(kind);
    if (!def) throw new Error(`unknown job kind "${kind}" (register it before enqueueing)`);
    const value = Value.Default(def.payload, Value.Clone(payload));
    if (!Value.Check(def.payload, value)) {
      throw invalidRequest(fieldIssues(Value.Errors(def.payload, value), "payload"), `invalid payload for job kind ${kind}`);
    }
    return { def, value };
  };

  /** A kind's own limit: its `concurrency`, else the queue's (1 for a kind with slots of its own). */
  const capOf = (k: JobKind) => k.concurrency ?? (k.ownSlots ? 1 : concurrency);

  /**
   * Kinds with a free slot, and of them those with more than one (`roomy`): the last free
   * slot, of a kind or of the queue, is kept for workspaces with no job running (JobStore.claim).
   * Kinds with `ownSlots` count only against their own limit, never the queue's.
   */
  function freeKinds(): { free: string[]; roomy: string[] } {
    const perKind = new Map<string, number>();
    let shared = 0;
    for (const r of runs.values()) {
      perKind.set(r.kind, (perKind.get(r.kind) ?? 0) + 1);
      if (!kinds.get(r.kind)?.ownSlots) shared++;
    }
    const free = [...kinds.values()].filter((k) => (perKind.get(k.kind) ?? 0) < capOf(k) && (k.ownSlots || shared < concurrency));
    if (!reserveSlot()) return { free: free.map((k) => k.kind), roomy: free.map((k) => k.kind) };
    const lastShared = concurrency > 1 && shared === concurrency - 1;
    const roomy = free.filter((k) => (k.ownSlots || !lastShared) && (capOf(k) <= 1 || (perKind.get(k.kind) ?? 0) < capOf(k) - 1));
    return { free: free.map((k) => k.kind), roomy: roomy.map((k) => k.kind) };
  }

  // One tick at a time: a wake-up during a tick's awaited claim asks for another pass.
  let ticking = false;
  let again = false;
  async function tick() {
    timer = undefined;
    if (!started || stopping) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      while (started && !stopping) {
        const { free, roomy } = freeKinds();
        if (free.length === 0) break;
        const job = await store.claim(free, owner, leaseMs, roomy);
        if (!job) break;
        const onSettled = () => {
          runs.delete(job.id);
          wake();
        };
        runs.set(job.id, runJob(store, kinds.get(job.kind)!, job, { owner, leaseMs, heartbeatMs, onSettled, onAttempt: opts.onAttempt, onRetryIn: wakeIn, onError: (e, where) => onError(e, where) }));
      }
    } catch (e) {
      onError(e, "poll");
    } finally {
      ticking = false;
    }
    if (again) {
      again = false;
      schedule(0);
    } else schedule(pollMs);
  }

  function schedule(ms: number) {
    if (!started || stopping || soon !== undefined) return;
    if (ms === 0) {
      // A wake-up runs on the next turn of the event loop, not at the next timer tick (≥ 1 ms
      // later in Bun): a deploy's job starts that much sooner after its enqueue commits.
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      soon = setImmediate(() => {
        soon = undefined;
        void tick();
      });
      return;
    }
    if (timer === undefined) timer = setTimeout(tick, ms);
  }
  const wake = () => schedule(0);

  const queue: Queue = {
    workerId,
    owner,
    register(def) {
      if (kinds.has(def.kind)) throw new Error(`job kind "${def.kind}" is already registered`);
      kinds.set(def.kind, def as unknown as JobKind);
      return queue;
    },
    enqueue(kind, payload, o = {}) {
      prepare(kind, payload); // refuse a bad payload before taking the write gate
      return opts.db.tx((tx) => queue.enqueueInTx(tx, kind, payload, o));
    },
    async enqueueInTx(tx, kind, payload, o = {}) {
      const { def, value } = prepare(kind, payload);
      const job = await store.insert(tx, { id: o.id ?? newId("job"), kind, payload: value, workspaceId: o.workspaceId, agentId: o.agentId, maxAttempts: def.maxAttempts, runAt: o.runAt });
      tx.onCommit(wake); // claimable only once committed; nothing to wake for on a rollback
      return job;
    },
    start() {
      if (started) return;
      started = true;
      stopping = false;
      // Any node's enqueue of a kind registered here; a resync (wake-ups may have been lost) too.
      // A cancel requested on any node stops the run here at once (the heartbeat is the backstop).
      unsubscribeBus = [
        opts.db.bus.subscribe("job.queued", (m) => void (kinds.has(m.kind) && wake()), wake),
        opts.db.bus.subscribe("job.cancel", (m) => runs.get(m.jobId)?.stop("cancel"), () => {}),
      ];
      void queue.recover().then(wake, (e) => onError(e, "poll"));
    },
    async stop(o = {}) {
      if (!started) return;
      stopping = true;
      for (const u of unsubscribeBus) u();
      unsubscribeBus = [];
      for (const t of retryTimers) clearTimeout(t);
      retryTimers.clear();
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (soon) clearImmediate(soon);
      soon = undefined;
      const all = Promise.all([...runs.values()].map((r) => r.done));
      let t: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<void>((r) => (t = setTimeout(r, o.timeoutMs ?? opts.stopTimeoutMs ?? 10_000)));
      await Promise.race([all, graceOver]);
      clearTimeout(t);
      for (const r of runs.values()) r.stop("shutdown");
      await all;
      started = false;
    },
    async recover() {
      const out = await store.recover(workerId, owner);
      if (out.requeued.length) wake();
      return out;
    },
    async cancel(jobId) {
      const job = await store.requestCancel(jobId);
      const run = job?.status === "running" ? runs.get(jobId) : undefined;
      if (run) {
        run.stop("cancel");
        await run.done; // its outcome is written before cancel answers
      }
      return store.get(jobId);
    },
    get: (jobId) => store.get(jobId),
    events: (jobId, afterId) => store.events(jobId, afterId),
    subscribe: (jobId, listener) => store.bus.subscribe(jobId, listener),
    waitFor: (jobId, timeoutMs) => waitForJob(store, jobId, timeoutMs, Math.min(pollMs, 100)),
    running: () => [...runs.values()].map((r) => ({ id: r.job.id, kind: r.kind })),
    depth: () => store.depth(),
    list: (filter) => store.list(filter),
    hasActive: (agentId) => store.hasActive(agentId),
  };
  return queue;
}

export const isTerminal = (status: string): boolean => TERMINAL_STATUSES.includes(status as JobStatus);
