/**
 * Fair, bounded admission of calls to the sandbox, above the engine (both engines get it).
 * Each agent may have `agentConcurrency` calls running and `agentQueue` more waiting;
 * beyond that a call is refused at once with 429 `rate_limited` (Retry-After). Calls wait
 * in the host, per agent, never inside a worker, so waiting is not charged to a call's
 * wall deadline (that starts when the engine receives the call); the wait itself is
 * bounded by `queueWaitMs` (then 429 if the agent's own limit kept it waiting, else 503
 * `sandbox_busy`). Each lane (lanes.ts) has a capacity of in-flight calls; when it is
 * full, freed capacity goes round-robin across the agents that have calls waiting, so a
 * busy agent cannot take turns from a quiet one.
 *
 * Agents are classified by recent CPU per call (an average that rises faster than it
 * decays; one clearly heavy call is enough): at or above `heavyCpuMs` an agent is heavy
 * for at least HEAVY_HOLD_MS and its calls run only in the heavy lane, so light agents
 * keep their latency. An agent not seen yet (no finished call since start-up) is on
 * probation: its other calls wait until its first call finishes (and classifies it) or
 * until that call has run longer than its CPU limit plus PROBATION_GRACE_MS — a call
 * still running by then has spent time waiting (on I/O or a timer), since the CPU limit
 * would have stopped it otherwise, so calls of one agent that wait for each other (long
 * polling) are only delayed, never deadlocked. So a first burst of CPU-heavy calls puts
 * one call, not agentConcurrency, into the light lane.
 *
 * Tenants: per-agent limits alone let one workspace with several agents fill a lane — with
 * calls that merely wait on a timer or an outbound fetch, since a call holds its slot until
 * it ends (the engines give the host no say over when a parked call resumes, so a slot
 * cannot be lent out and taken back). So a workspace's calls together may hold at most
 * `workspaceShare` of each lane's capacity; the rest is always left for other workspaces,
 * and a call waiting for its workspace's share ends like one waiting for its agent's limit
 * (429). Calls not attributed to a workspace are bounded per agent only.
 */
import { observeWorkspace, shareOf, type ShareSource } from "../lib/tenancy";
import { AppError } from "../errors";
import { laneSizes, type Lane, type LaneSizes } from "./lanes";

export interface SchedulerOptions {
  /** Engine workers (CANTRIP_SANDBOX_WORKERS); lane capacities follow laneSizes(workers). */
  workers: number;
  /** Calls one agent may have running at once (CANTRIP_SANDBOX_AGENT_CONCURRENCY). */
  agentConcurrency: number;
  /** Calls one agent may have waiting beyond that (CANTRIP_SANDBOX_AGENT_QUEUE). */
  agentQueue: number;
  /** Longest a call waits for its turn, in ms (CANTRIP_SANDBOX_QUEUE_WAIT_MS). */
  queueWaitMs: number;
  /** Recent CPU per call (ms) at which an agent moves to the heavy lane (CANTRIP_SANDBOX_HEAVY_CPU_MS). */
  heavyCpuMs: number;
  /**
   * The fraction (0–1] of each lane's capacity one workspace's calls may hold at once
   * (CANTRIP_SANDBOX_WORKSPACE_SHARE, in percent there); at least one slot. A Tenancy makes
   * it 1 while only one workspace exists (src/lib/tenancy.ts).
   */
  workspaceShare: ShareSource;
}

export const defaultSchedulerOptions: Omit<SchedulerOptions, "workers"> = {
  agentConcurrency: 8,
  agentQueue: 32,
  queueWaitMs: 5000,
  heavyCpuMs: 50,
  workspaceShare: 0.75,
};

/** In-flight calls per worker a lane admits before calls queue (light calls mostly await I/O). */
const LIGHT_SLOTS_PER_WORKER = 32;
/** Heavy calls mostly burn CPU: two per worker keeps one ready while the other runs. */
const HEAVY_SLOTS_PER_WORKER = 2;
/** Probation lasts at most the first call's CPU limit plus this (ms). */
const PROBATION_GRACE_MS = 100;
/** A single call using this many times heavyCpuMs makes its agent heavy at once. */
const CLEARLY_HEAVY = 4;
/** How long an agent stays heavy after the last sign of heaviness. */
export const HEAVY_HOLD_MS = 60_000;
/** Load-checks run one at a time on the load worker; a check waits at most this long for it. */
const LOAD_WAIT_MS = 60_000;
const MAX_IDLE_AGENTS = 10_000;

interface Waiter {
  start(lane: Lane): void;
  fail(e: Error): void;
}

/** A call waiting in its agent's queue, until `deadline` (performance.now() ms). */
interface QueuedCall extends Waiter {
  deadline: number;
}

interface AgentState {
  id: string;
  /** The workspace of its latest call (undefined: not attributed). */
  workspace?: string;
  active: number;
  /**
   * Waiting calls, oldest first. Every call waits at most queueWaitMs, so the oldest's
   * deadline comes first: one timer per agent (`expiry`, armed for the oldest) ends the
   * waits, not a timer per call (issue 15: a setTimeout and clearTimeout per queued call).
   */
  queue: QueuedCall[];
  expiry: ReturnType<typeof setTimeout> | null;
  /** Finished calls recorded since start-up. */
  calls: number;
  cpuEwmaMs: number;
  heavyUntil: number;
  /** When probation ends at the latest (0: the first call has not started yet). */
  probationEnds: number;
  /** Probation length for this agent: its CPU limit plus PROBATION_GRACE_MS. */
  probationMs: number;
}

interface LaneState {
  capacity: number;
  active: number;
}

export class Scheduler {
  private agents = new Map<string, AgentState>();
  private lanes: Record<"light" | "heavy", LaneState>;
  /** Calls running per workspace and lane (only workspaces with calls running). */
  private tenants = new Map<string, Record<"light" | "heavy", number>>();
  /** Agents with waiting calls, in round-robin order (served from the front, re-queued at the back). */
  private ring: string[] = [];
  /** The load lane: one check at a time; waiting checks per workspace (or agent, when not attributed), served round-robin. */
  private load = { active: false, queues: new Map<string, Waiter[]>(), ring: [] as string[], waiting: new Map<string, number>() };
  readonly sizes: LaneSizes;

  constructor(private opts: SchedulerOptions, private now: () => number = () => performance.now()) {
    this.sizes = laneSizes(opts.workers);
    this.lanes = {
      light: { capacity: this.sizes.light * LIGHT_SLOTS_PER_WORKER, active: 0 },
      heavy: { capacity: Math.max(1, this.sizes.heavy) * HEAVY_SLOTS_PER_WORKER, active: 0 },
    };
  }

  /** The lane `agentId`'s next call runs in. */
  laneOf(agentId: string): "light" | "heavy" {
    const a = this.agents.get(agentId);
    if (!a) return "light";
    return a.heavyUntil > this.now() || a.cpuEwmaMs >= this.opts.heavyCpuMs ? "heavy" : "light";
  }

  /** Moves an agent to the heavy lane now (a watchdog kill, a bundle too big to compile quickly). */
  markHeavy(agentId: string): void {
    this.agent(agentId).heavyUntil = this.now() + HEAVY_HOLD_MS;
  }

  /**
   * Records the CPU (ms) one finished call of `agentId` used. A call's CPU is measured as
   * the wall time of its guest slices, so on a crowded machine a light call can now and
   * then look like 100 ms: one such call moves the average only a quarter of the way, while
   * a call of CLEARLY_HEAVY × heavyCpuMs or more makes the agent heavy at once.
   */
  record(agentId: string, cpuMs: number): void {
    const a = this.agent(agentId);
    a.calls++;
    const k = cpuMs > a.cpuEwmaMs ? 0.25 : 0.1;
    a.cpuEwmaMs += k * (cpuMs - a.cpuEwmaMs);
    if (a.cpuEwmaMs >= this.opts.heavyCpuMs || cpuMs >= CLEARLY_HEAVY * this.opts.heavyCpuMs) a.heavyUntil = this.now() + HEAVY_HOLD_MS;
  }

  /**
   * Runs `fn` when the agent's turn comes, in the lane chosen at that moment.
   * Throws 429 rate_limited (queue full, or the agent's own calls kept it waiting past
   * queueWaitMs) or 503 sandbox_busy (the lane stayed full), both with Retry-After.
   * `cpuLimitMs`: the call's CPU limit (it bounds the agent's probation).
   */
  async run<T>(agentId: string, fn: (lane: "light" | "heavy") => Promise<T>, cpuLimitMs = 1000, workspaceId?: string): Promise<T> {
    observeWorkspace(this.opts.workspaceShare, workspaceId);
    const a = this.agent(agentId);
    a.probationMs = cpuLimitMs + PROBATION_GRACE_MS;
    a.workspace = workspaceId;
    // (Admitted at once in the usual case: no promise to await then.)
    const admitted = this.admit(a);
    const { lane, workspace } = admitted instanceof Promise ? await admitted : admitted;
    try {
      return await fn(lane);
    } finally {
      a.active--;
      this.lanes[lane].active--;
      if (workspace !== undefined) {
        const t = this.tenants.get(workspace)!;
        if (--t[lane] === 0 && t[lane === "light" ? "heavy" : "light"] === 0) this.tenants.delete(workspace);
      }
      this.pump();
      this.forget(a);
    }
  }

  /**
   * Runs a load-check of `agentId`'s bundle on the load lane: one at a time, the waiting
   * ones taken round-robin across workspaces (`workspaceId`; each agent on its own when
   * absent), so one workspace uploading many bundles, through however many agents, cannot
   * hold back another's deploy. Beyond `agentQueue` waiting checks of one agent: 429.
   */
  async runLoad<T>(agentId: string, fn: () => Promise<T>, workspaceId?: string): Promise<T> {
    observeWorkspace(this.opts.workspaceShare, workspaceId);
    if (this.load.active) {
      const key = workspaceId === undefined ? `agent:${agentId}` : `ws:${workspaceId}`;
      const waiting = this.load.waiting.get(agentId) ?? 0;
      if (waiting >= this.opts.agentQueue) throw this.count(limited(`The agent has ${waiting} load-checks waiting (limit ${this.opts.agentQueue}).`));
      this.load.waiting.set(agentId, waiting + 1);
      const q = this.load.queues.get(key) ?? [];
      try {
        await new Promise<void>((resolve, reject) => {
          const w: Waiter = { start: () => (clearTimeout(t), resolve()), fail: reject };
          const t = setTimeout(() => {
            q.splice(q.indexOf(w), 1);
            if (q.length === 0) {
              this.load.queues.delete(key);
              this.load.ring.splice(this.load.ring.indexOf(key) >>> 0, 1);
            }
            reject(this.count(busy(`The sandbox's load worker was busy with other uploads for ${LOAD_WAIT_MS / 1000} s.`)));
          }, LOAD_WAIT_MS);
          q.push(w);
          if (q.length === 1) {
            this.load.queues.set(key, q);
            this.load.ring.push(key);
          }
        });
      } finally {
        const n = this.load.waiting.get(agentId)! - 1;
        if (n > 0) this.load.waiting.set(agentId, n);
        else this.load.waiting.delete(agentId);
      }
    }
    this.load.active = true;
    try {
      return await fn();
    } finally {
      const next = this.nextLoad();
      if (next) next.start("load");
      else this.load.active = false;
    }
  }

  private nextLoad(): Waiter | undefined {
    const id = this.load.ring.shift();
    if (id === undefined) return undefined;
    const q = this.load.queues.get(id)!;
    const w = q.shift()!;
    if (q.length) this.load.ring.push(id);
    else this.load.queues.delete(id);
    return w;
  }

  /** Calls running and waiting, per lane (for stats and tests). */
  /** Calls refused (429 or 503) since start (metrics). */
  refused = 0;
  private count(e: AppError): AppError {
    this.refused++;
    return e;
  }

  stats(): { light: { active: number; queued: number }; heavy: { active: number; queued: number }; load: { queued: number } } {
    const queued = { light: 0, heavy: 0 };
    for (const a of this.agents.values()) queued[this.laneOf(a.id)] += a.queue.length;
    return {
      light: { active: this.lanes.light.active, queued: queued.light },
      heavy: { active: this.lanes.heavy.active, queued: queued.heavy },
      load: { queued: [...this.load.queues.values()].reduce((n, q) => n + q.length, 0) },
    };
  }

  private agent(id: string): AgentState {
    let a = this.agents.get(id);
    if (!a) {
      if (this.agents.size >= MAX_IDLE_AGENTS) for (const x of [...this.agents.values()]) this.forget(x, true);
      a = { id, active: 0, queue: [], expiry: null, calls: 0, cpuEwmaMs: 0, heavyUntil: 0, probationEnds: 0, probationMs: 1000 + PROBATION_GRACE_MS };
      this.agents.set(id, a);
    }
    return a;
  }

  /** Drops the state of an idle, light agent when the table is full. */
  private forget(a: AgentState, force = false): void {
    if (!force || a.active || a.queue.length || this.laneOf(a.id) === "heavy") return;
    this.agents.delete(a.id);
  }

  private limitOf(a: AgentState): number {
    const onProbation = a.calls === 0 && (a.probationEnds === 0 || this.now() < a.probationEnds);
    return onProbation ? 1 : this.opts.agentConcurrency;
  }

  /** The most calls one workspace may have running in `lane`. */
  workspaceCapacity(lane: "light" | "heavy"): number {
    return Math.max(1, Math.floor(this.lanes[lane].capacity * shareOf(this.opts.workspaceShare)));
  }

  /** Calls `workspace` has running in `lane`. */
  private held(workspace: string | undefined, lane: "light" | "heavy"): number {
    return workspace === undefined ? 0 : (this.tenants.get(workspace)?.[lane] ?? 0);
  }

  private tenantFull(a: AgentState, lane: "light" | "heavy"): boolean {
    return a.workspace !== undefined && this.held(a.workspace, lane) >= this.workspaceCapacity(lane);
  }

  /** Counts a call as running; the first call of an unseen agent starts its probation clock. */
  private begin(a: AgentState, lane: "light" | "heavy"): { lane: "light" | "heavy"; workspace?: string } {
    a.active++;
    this.lanes[lane].active++;
    const workspace = a.workspace;
    if (workspace !== undefined) {
      let t = this.tenants.get(workspace);
      if (!t) this.tenants.set(workspace, (t = { light: 0, heavy: 0 }));
      t[lane]++;
    }
    if (a.calls === 0 && a.probationEnds === 0) {
      a.probationEnds = this.now() + a.probationMs;
      setTimeout(() => this.pump(), a.probationMs + 1).unref?.();
    }
    return { lane, workspace };
  }

  private canStart(a: AgentState, lane: "light" | "heavy"): boolean {
    return a.active < this.limitOf(a) && this.lanes[lane].active < this.lanes[lane].capacity && !this.tenantFull(a, lane);
  }

  /** The call's lane (and workspace) at once when it can start now, else a promise of them once its turn comes (or its refusal). */
  private admit(a: AgentState): { lane: "light" | "heavy"; workspace?: string } | Promise<{ lane: "light" | "heavy"; workspace?: string }> {
    const lane = this.laneOf(a.id);
    if (a.queue.length === 0 && this.canStart(a, lane)) return this.begin(a, lane);
    if (a.queue.length >= this.opts.agentQueue) {
      return Promise.reject(this.count(limited(`The agent has ${a.active} calls running and ${a.queue.length} waiting (limits ${this.opts.agentConcurrency} and ${this.opts.agentQueue}).`)));
    }
    return new Promise((resolve, reject) => {
      a.queue.push({ start: (l) => resolve(this.begin(a, l as "light" | "heavy")), fail: reject, deadline: performance.now() + this.opts.queueWaitMs });
      if (a.queue.length === 1) this.ring.push(a.id);
      this.armExpiry(a);
      this.pump();
    });
  }

  /** Arms the agent's timer for its oldest waiting call, unless it is armed already. */
  private armExpiry(a: AgentState): void {
    if (a.expiry !== null || a.queue.length === 0) return;
    a.expiry = setTimeout(() => {
      a.expiry = null;
      this.expire(a);
    }, Math.max(0, a.queue[0]!.deadline - performance.now()));
  }

  /** Ends the waits of the agent's calls past their deadline (429 or 503, as the wait's cause was), then re-arms. */
  private expire(a: AgentState): void {
    // Timers have millisecond resolution and may fire a fraction of one early: within 1 ms is due.
    const now = performance.now() + 1;
    while (a.queue.length > 0 && a.queue[0]!.deadline <= now) {
      const w = a.queue.shift()!;
      if (a.queue.length === 0) this.ring.splice(this.ring.indexOf(a.id) >>> 0, 1);
      const secs = Math.ceil(this.opts.queueWaitMs / 1000);
      const lane = this.laneOf(a.id);
      if (a.active >= this.limitOf(a)) w.fail(this.count(limited(`The agent's own ${a.active} running calls kept this call waiting for ${secs} s.`)));
      else if (this.tenantFull(a, lane)) w.fail(this.count(limited(`The workspace's ${this.held(a.workspace, lane)} running calls (its share of the sandbox's ${lane} lane: ${this.workspaceCapacity(lane)} of ${this.lanes[lane].capacity}) kept this call waiting for ${secs} s.`)));
      else w.fail(this.count(busy(`The sandbox had no free capacity for this call within ${secs} s.`)));
    }
    this.armExpiry(a);
  }

  /**
   * Hands free lane capacity to waiting calls. The ring is scanned from the front; an
   * agent that gets a turn moves to the back, one that cannot start keeps its place.
   */
  private pump(): void {
    let i = 0;
    while (i < this.ring.length) {
      const id = this.ring[i]!;
      const a = this.agents.get(id);
      if (!a || a.queue.length === 0) {
        this.ring.splice(i, 1);
        continue;
      }
      const lane = this.laneOf(id);
      if (!this.canStart(a, lane)) {
        i++;
        continue;
      }
      a.queue.shift()!.start(lane);
      this.ring.splice(i, 1);
      if (a.queue.length) this.ring.push(id);
      else if (a.expiry !== null) {
        // Nothing left to time out: the timer would only keep the process awake.
        clearTimeout(a.expiry);
        a.expiry = null;
      }
      i = 0;
    }
  }
}

function limited(message: string): AppError {
  // No details.reason: like the gateway's own rate limits, this is the platform's answer, not a runtime failure.
  return new AppError("rate_limited", message, { headers: { "retry-after": "1" } });
}

function busy(message: string): AppError {
  return new AppError("sandbox_busy", message, { headers: { "retry-after": "1" }, details: { reason: "overloaded" } });
}
