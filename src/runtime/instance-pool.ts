/**
 * Warm instances, reused across calls. An instance belongs to exactly one owner: the agent,
 * the bundle (a version id, or a candidate's id) and the runtime config it was loaded with
 * (limits, hosts, secret grants, env, engine) — `instanceKey`. Nothing is shared by content:
 * two agents with byte-identical code get two instances, and a changed grant loads a new
 * instance (the old one retires). Cold loads happen on demand (one at a time per key); an
 * instance takes at most `limits.concurrency` calls at once.
 *
 * Memory: the budget bounds every instance the pool holds, busy ones included. An idle
 * instance counts its engine heap as last measured; a busy (or loading) one counts its cap
 * (`limits.memoryBytes`, or its heap if larger), since it may grow to it before the call
 * ends. A call that needs more than is free first evicts idle instances (LRU), then waits
 * up to MEMORY_WAIT_MS for busy ones to finish, then fails with `memory_budget` (503
 * sandbox_memory_exhausted, Retry-After). An agent keeps instances of at most two bundles:
 * older versions retire once their in-flight calls finish. Instances live in the lane
 * (lanes.ts) they were loaded for; when the scheduler moves an agent to another lane, its
 * instances in the old lane retire the same way. Load-checks (`check`) load on the load
 * lane under the same memory budget and leave no instance behind.
 *
 * Tenants: the memory one workspace's busy instances and loads reserve together may not
 * pass `workspaceShare` of the budget, unless it reserves nothing yet (so any agent within
 * the budget can run). A call of an agent at the operator's maximum memory limit reserves
 * that limit even while it only waits on a timer — the engines cannot lend the memory out
 * and take it back — so without this bound a few such calls of one workspace would hold
 * the whole budget and every other workspace's call would be refused. Beyond its share a
 * call waits like any other (MEMORY_WAIT_MS) and then fails with `memory_budget`.
 */
import { shareOf, type ShareSource } from "../lib/tenancy";
import type { Engine, EngineInstance } from "./engine";
import type { AgentRuntimeConfig, BackendDescription, BundleRef, Limits } from "./types";
import type { Lane } from "./lanes";
import type { makeBridgeFactory } from "./bridges";
import { failure } from "./failures";

export interface Entry {
  ref: BundleRef;
  key: string;
  inst: EngineInstance;
  inflight: number;
  lastUsed: number;
  retiring: boolean;
  lane: Lane;
}

const BUNDLES_PER_AGENT = 2;
/** How long a call waits for sandbox memory held by other calls before it is refused. */
export const MEMORY_WAIT_MS = 1000;

const fingerprints = new WeakMap<AgentRuntimeConfig, string>();

/**
 * The owner of an instance: agent, bundle and the exact capabilities it was given (the
 * whole runtime config: limits, hosts, secret grants, env, engine, scratch world). The
 * config's JSON is cached per config object (the gateway reuses one per live agent).
 */
export function instanceKey(ref: BundleRef): string {
  // The key is also cached per ref (the live cache hands the same ref to every call): one
  // string object, so comparing it with an entry's key and hashing it for a Map lookup do not
  // walk a fresh ~hundreds-of-characters string on every acquire (issue 15).
  const cached = keys.get(ref);
  if (cached !== undefined && cached.config === ref.config && cached.agentId === ref.agentId && cached.bundleId === ref.bundleId) return cached.key;
  let fp = fingerprints.get(ref.config);
  if (fp === undefined) {
    // The whole config: every field it has (or gains) is a capability of the instance.
    fp = JSON.stringify(ref.config);
    fingerprints.set(ref.config, fp);
  }
  const key = `${ref.agentId}\u0000${ref.bundleId}\u0000${fp}`;
  keys.set(ref, { config: ref.config, agentId: ref.agentId, bundleId: ref.bundleId, key });
  return key;
}
const keys = new WeakMap<BundleRef, { config: AgentRuntimeConfig; agentId: string; bundleId: string; key: string }>();

export class InstancePool {
  private entries: Entry[] = [];
  private loading = new Map<string, Promise<Entry>>();
  private waiters = new Map<string, (() => void)[]>();
  /** Calls waiting for memory; woken (all of them, they re-check) whenever memory is released. */
  private memoryWaiters = new Set<() => void>();
  /** Bytes reserved for loads in progress (the new instance may grow to its cap while loading). */
  private loadingBytes = 0;
  /** The same, per workspace. */
  private loadingByTenant = new Map<string, number>();
  loads = 0;
  evictions = 0;

  /** `workspaceShare`: the fraction (0–1] of the budget one workspace may reserve (see above). */
  constructor(private engine: Engine, private budgetBytes: number, private bridges: ReturnType<typeof makeBridgeFactory>, private workspaceShare: ShareSource = 1) {}

  /**
   * A fresh instance of `ref` in `lane`, added to the pool.
   * `busy`: hand it out with one call already taken (acquire), so its reservation never lapses.
   */
  async loadFresh(ref: BundleRef, busy = false, lane: Lane = "light"): Promise<Entry> {
    const cap = this.capOf(ref);
    const memory = this.memoryWait(ref);
    // Check and commit in one synchronous step: no other call can take the same room.
    while (!this.fits(ref, cap, cap, null)) await memory.wait();
    this.reserveLoad(ref, cap);
    let inst: EngineInstance;
    try {
      inst = await this.engine.load({ ref, limits: ref.config.limits, bridge: this.bridges(ref.config), lane });
    } finally {
      this.reserveLoad(ref, -cap);
      this.wakeMemory();
    }
    this.loads++;
    const e: Entry = { ref, key: instanceKey(ref), inst, inflight: busy ? 1 : 0, lastUsed: performance.now(), retiring: false, lane };
    this.entries.push(e);
    this.retireStale(ref, e.key);
    this.enforceBudget();
    this.wake(e.key);
    return e;
  }

  /**
   * Loads `ref` once on the load lane (a load-check: compile + describe) under the memory
   * budget, and drops the instance at once. Throws what the load throws.
   */
  async check(ref: BundleRef): Promise<BackendDescription> {
    const cap = this.capOf(ref);
    const memory = this.memoryWait(ref);
    while (!this.fits(ref, cap, cap, null)) await memory.wait();
    this.reserveLoad(ref, cap);
    try {
      const inst = await this.engine.load({ ref, limits: ref.config.limits, bridge: this.bridges(ref.config), lane: "load" });
      inst.dispose();
      return inst.description;
    } finally {
      this.reserveLoad(ref, -cap);
      this.wakeMemory();
    }
  }

  /**
   * acquire's first step, synchronously: the instance acquire takes without waiting (the
   * busiest one with a free slot, else an idle one that fits the memory budget), or null
   * when acquire would have to wait or load one. Saves the usual call a promise (issue 15).
   */
  acquireNow(ref: BundleRef, lane: Lane = "light"): Entry | null {
    const limits = ref.config.limits;
    // Among instances with a free slot, the first with the most calls in flight: a busy one
    // costs no extra memory; an idle one may grow to its cap, so it must fit the budget.
    let best: Entry | null = null;
    for (const e of this.live(instanceKey(ref), lane)) if (e.inflight < limits.concurrency && (!best || e.inflight > best.inflight)) best = e;
    if (!best) return null;
    if (best.inflight > 0) return this.take(best);
    return this.fits(ref, this.capOf(ref, best), this.capOf(ref, best) - this.charge(best), best) ? this.take(best) : null;
  }

  async acquire(ref: BundleRef, lane: Lane = "light"): Promise<Entry> {
    const limits = ref.config.limits;
    const key = instanceKey(ref);
    const deadline = performance.now() + limits.wallMs;
    let memory: ReturnType<InstancePool["memoryWait"]> | null = null;
    for (;;) {
      const now = this.acquireNow(ref, lane);
      if (now) return now;
      const mine = this.live(key, lane);
      // An instance with a free slot that acquireNow did not take is idle and does not fit the memory budget yet.
      if (mine.some((e) => e.inflight < limits.concurrency)) {
        await (memory ??= this.memoryWait(ref)).wait();
        continue;
      }
      const loading = this.loading.get(key);
      if (loading) {
        await loading.catch(() => {});
        continue;
      }
      if (mine.length < Math.max(1, this.engine.workers())) {
        const p = this.loadFresh(ref, true, lane).finally(() => this.loading.delete(key));
        this.loading.set(key, p);
        const e = await p;
        if (e.inst.alive) return e;
        this.release(e);
        continue;
      }
      await this.waitForSlot(key, deadline - performance.now(), limits);
    }
  }

  release(e: Entry): void {
    e.inflight--;
    e.lastUsed = performance.now();
    if ((e.retiring || !e.inst.alive) && e.inflight === 0) this.remove(e);
    this.wake(e.key);
    this.enforceBudget();
    if (e.inflight === 0) this.wakeMemory();
  }

  evict(agentId: string, bundleId?: string): void {
    for (const e of [...this.entries]) {
      if (e.ref.agentId !== agentId || (bundleId && e.ref.bundleId !== bundleId)) continue;
      e.retiring = true;
      if (e.inflight === 0) this.remove(e);
    }
  }

  /** Bytes `workspace`'s busy instances and loads reserve now. */
  reservedBy(workspace: string): number {
    let n = this.loadingByTenant.get(workspace) ?? 0;
    for (const e of this.entries) if (e.inflight > 0 && e.ref.config.workspaceId === workspace) n += this.charge(e);
    return n;
  }

  /** The most one workspace may reserve (beyond its first instance). */
  workspaceBudget(): number {
    return Math.floor(this.budgetBytes * shareOf(this.workspaceShare));
  }

  /** Memory the pool holds now (idle instances at their heap, busy ones and loads at their cap). */
  memoryBytes(): number {
    return this.committed();
  }

  count(): number {
    return this.entries.filter((e) => e.inst.alive).length;
  }

  clear(): void {
    for (const e of [...this.entries]) this.remove(e);
  }

  private take(e: Entry): Entry {
    e.inflight++;
    e.lastUsed = performance.now();
    return e;
  }

  private live(key: string, lane: Lane): Entry[] {
    // Backwards over the array itself: remove() splices only at or after the current index.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (!e) continue;
      if (!e.inst.alive && e.inflight === 0) this.remove(e);
      else if (e.key === key && e.lane !== lane && !e.retiring) {
        e.retiring = true;
        if (e.inflight === 0) this.remove(e);
      }
    }
    return this.entries.filter((e) => e.key === key && e.inst.alive && !e.retiring);
  }

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    e.inst.dispose();
    this.wakeMemory();
  }

  /** The most an instance of `ref` may hold while it runs. */
  private capOf(ref: BundleRef, e?: Entry): number {
    return Math.max(ref.config.limits.memoryBytes, e?.inst.memoryBytes ?? 0);
  }

  private charge(e: Entry): number {
    return e.inflight > 0 ? this.capOf(e.ref, e) : e.inst.alive ? e.inst.memoryBytes : 0;
  }

  private committed(): number {
    let n = this.loadingBytes;
    for (const e of this.entries) n += this.charge(e);
    return n;
  }

  /**
   * Waiting for memory held by other calls, for one call: each wait() resolves when memory
   * is released; past MEMORY_WAIT_MS (or the call's wall limit, if shorter) since the first
   * wait it fails with memory_budget. A cap larger than the whole budget fails at once.
   */
  private memoryWait(ref: BundleRef) {
    const cap = this.capOf(ref);
    const waitMs = Math.min(MEMORY_WAIT_MS, ref.config.limits.wallMs);
    let until = 0;
    return {
      wait: (): Promise<void> => {
        if (cap > this.budgetBytes) {
          return Promise.reject(failure("memory_budget", `The agent's memory limit (${cap} bytes) is larger than the sandbox's whole memory budget (${this.budgetBytes} bytes).`));
        }
        until ||= performance.now() + waitMs;
        const left = until - performance.now();
        if (left <= 0) {
          const ws = ref.config.workspaceId;
          if (!this.tenantRoom(ref, cap)) return Promise.reject(failure("memory_budget", `The workspace's running calls reserve ${this.reservedBy(ws!)} bytes of the sandbox's memory budget, and one workspace may reserve at most ${this.workspaceBudget()} (of ${this.budgetBytes}); waited ${Math.round(waitMs)} ms.`));
          return Promise.reject(failure("memory_budget", `The sandbox's memory budget (${this.budgetBytes} bytes) is in use by other calls; waited ${Math.round(waitMs)} ms.`));
        }
        return new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t);
            this.memoryWaiters.delete(wake);
            resolve();
          };
          const t = setTimeout(wake, left);
          this.memoryWaiters.add(wake);
        });
      },
    };
  }

  private reserveLoad(ref: BundleRef, bytes: number): void {
    this.loadingBytes += bytes;
    const ws = ref.config.workspaceId;
    if (ws === undefined) return;
    const n = (this.loadingByTenant.get(ws) ?? 0) + bytes;
    if (n > 0) this.loadingByTenant.set(ws, n);
    else this.loadingByTenant.delete(ws);
  }

  /** Whether `ref`'s workspace may reserve `cap` more bytes (always, while it reserves nothing). */
  private tenantRoom(ref: BundleRef, cap: number): boolean {
    const ws = ref.config.workspaceId;
    if (ws === undefined || shareOf(this.workspaceShare) >= 1) return true;
    const held = this.reservedBy(ws);
    return held === 0 || held + cap <= this.workspaceBudget();
  }

  /**
   * Whether a call of `ref` may start: its workspace may reserve `cap` (tenantRoom), and
   * `bytes` more fit the budget (evicting idle instances other than `keep` if need be).
   */
  private fits(ref: BundleRef, cap: number, bytes: number, keep: Entry | null): boolean {
    return this.tenantRoom(ref, cap) && this.makeRoom(bytes, keep);
  }

  /** Evicts idle instances (least recently used first, never `keep`) until `bytes` more fit; false if they cannot. */
  private makeRoom(bytes: number, keep: Entry | null): boolean {
    if (bytes <= 0) return true;
    let free = this.budgetBytes - this.committed();
    if (free >= bytes) return true;
    const idle = this.entries.filter((e) => e.inflight === 0 && e !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
    if (free + idle.reduce((n, e) => n + this.charge(e), 0) < bytes) return false;
    for (const e of idle) {
      if (free >= bytes) break;
      free += this.charge(e);
      this.remove(e);
      this.evictions++;
    }
    return true;
  }

  private wakeMemory(): void {
    if (this.memoryWaiters.size === 0) return; // (every release calls this: no copy when nobody waits)
    for (const w of [...this.memoryWaiters]) w();
  }

  /** Instances of the same agent and bundle loaded with other capabilities, and old bundles, retire. */
  private retireStale(ref: BundleRef, key: string): void {
    for (const e of [...this.entries]) {
      if (e.ref.agentId === ref.agentId && e.ref.bundleId === ref.bundleId && e.key !== key && !e.retiring) {
        e.retiring = true;
        if (e.inflight === 0) this.remove(e);
      }
    }
    const ids: string[] = [];
    const byRecency = this.entries.filter((e) => e.ref.agentId === ref.agentId && !e.retiring).sort((a, b) => b.lastUsed - a.lastUsed);
    for (const e of byRecency) if (!ids.includes(e.ref.bundleId)) ids.push(e.ref.bundleId);
    const keepIds = new Set([ref.bundleId, ...ids.filter((id) => id !== ref.bundleId).slice(0, BUNDLES_PER_AGENT - 1)]);
    for (const e of byRecency) if (!keepIds.has(e.ref.bundleId)) this.evict(ref.agentId, e.ref.bundleId);
  }

  /** An engine may report a heap above the cap it was given (V8 overshoots a little): shed idle ones. */
  private enforceBudget(): void {
    let total = this.committed();
    if (total <= this.budgetBytes) return;
    const idle = this.entries.filter((e) => e.inflight === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (total <= this.budgetBytes) break;
      total -= this.charge(e);
      this.remove(e);
      this.evictions++;
    }
  }

  private waitForSlot(key: string, ms: number, limits: Limits): Promise<void> {
    if (ms <= 0) return Promise.reject(failure("overloaded", `All instances are busy (${limits.concurrency} concurrent calls each).`));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      const t = setTimeout(() => {
        const l = this.waiters.get(key);
        l?.splice(l.indexOf(wake), 1);
        reject(failure("overloaded", `All instances are busy (${limits.concurrency} concurrent calls each); waited ${limits.wallMs} ms.`));
      }, ms);
      const wake = () => {
        clearTimeout(t);
        resolve();
      };
      list.push(wake);
      this.waiters.set(key, list);
    });
  }

  private wake(key: string): void {
    this.waiters.get(key)?.shift()?.();
  }
}
