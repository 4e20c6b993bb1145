/**
 * Warm instances per deployed bundle (BundleRef.bundleId), reused across calls. Cold
 * loads happen on demand (one at a time per bundle); an instance takes at most
 * `limits.concurrency` calls at once, extra calls wait for a slot or a new instance. Idle
 * instances are LRU-evicted under the total memory budget, and an agent keeps instances of
 * at most two bundles: older versions retire once their in-flight calls finish. Instances
 * live in the lane (lanes.ts) they were loaded for; when the scheduler moves an agent to
 * another lane, its instances in the old lane retire the same way.
 */
import type { Engine, EngineInstance } from "./engine";
import type { BundleRef, Limits } from "./types";
import type { makeBridgeFactory } from "./bridges";
import { failure } from "./failures";
import type { Lane } from "./lanes";

export interface Entry {
  ref: BundleRef;
  inst: EngineInstance;
  inflight: number;
  lastUsed: number;
  retiring: boolean;
  lane: Lane;
}

const BUNDLES_PER_AGENT = 2;

export class InstancePool {
  private entries: Entry[] = [];
  private loading = new Map<string, Promise<Entry>>();
  private waiters = new Map<string, (() => void)[]>();
  loads = 0;
  evictions = 0;

  constructor(private engine: Engine, private budgetBytes: number, private bridges: ReturnType<typeof makeBridgeFactory>) {}

  /** A fresh instance of `ref` in `lane`, added to the pool. */
  async loadFresh(ref: BundleRef, lane: Lane = "light"): Promise<Entry> {
    const inst = await this.engine.load({ ref, limits: ref.config.limits, bridge: this.bridges(ref.config), lane });
    this.loads++;
    const e: Entry = { ref, inst, inflight: 0, lastUsed: performance.now(), retiring: false, lane };
    this.entries.push(e);
    this.retireOldBundles(ref);
    this.enforceBudget();
    this.wake(ref.bundleId);
    return e;
  }

  async acquire(ref: BundleRef, lane: Lane = "light"): Promise<Entry> {
    const limits = ref.config.limits;
    const deadline = performance.now() + limits.wallMs;
    for (;;) {
      const mine = this.live(ref.bundleId, lane);
      const free = mine.filter((e) => e.inflight < limits.concurrency).sort((a, b) => a.inflight - b.inflight)[0];
      if (free) return this.take(free);
      const loading = this.loading.get(ref.bundleId);
      if (loading) {
        await loading.catch(() => {});
        continue;
      }
      if (mine.length < Math.max(1, this.engine.workers())) {
        const p = this.loadFresh(ref, lane).finally(() => this.loading.delete(ref.bundleId));
        this.loading.set(ref.bundleId, p);
        const e = await p;
        if (e.inflight < limits.concurrency && e.inst.alive && e.lane === lane) return this.take(e);
        continue;
      }
      await this.waitForSlot(ref.bundleId, deadline - performance.now(), limits);
    }
  }

  release(e: Entry): void {
    e.inflight--;
    e.lastUsed = performance.now();
    if ((e.retiring || !e.inst.alive) && e.inflight === 0) this.remove(e);
    this.wake(e.ref.bundleId);
    this.enforceBudget();
  }

  evict(agentId: string, bundleId?: string): void {
    for (const e of [...this.entries]) {
      if (e.ref.agentId !== agentId || (bundleId && e.ref.bundleId !== bundleId)) continue;
      e.retiring = true;
      if (e.inflight === 0) this.remove(e);
    }
  }

  memoryBytes(): number {
    return this.entries.reduce((n, e) => n + (e.inst.alive ? e.inst.memoryBytes : 0), 0);
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

  private live(bundleId: string, lane: Lane): Entry[] {
    for (const e of [...this.entries]) {
      if (!e.inst.alive && e.inflight === 0) this.remove(e);
      else if (e.ref.bundleId === bundleId && e.lane !== lane && !e.retiring) {
        e.retiring = true;
        if (e.inflight === 0) this.remove(e);
      }
    }
    return this.entries.filter((e) => e.ref.bundleId === bundleId && e.inst.alive && !e.retiring);
  }

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    e.inst.dispose();
  }

  private retireOldBundles(ref: BundleRef): void {
    const ids: string[] = [];
    const byRecency = this.entries.filter((e) => e.ref.agentId === ref.agentId && !e.retiring).sort((a, b) => b.lastUsed - a.lastUsed);
    for (const e of byRecency) if (!ids.includes(e.ref.bundleId)) ids.push(e.ref.bundleId);
    const keep = new Set([ref.bundleId, ...ids.filter((id) => id !== ref.bundleId).slice(0, BUNDLES_PER_AGENT - 1)]);
    for (const e of byRecency) if (!keep.has(e.ref.bundleId)) this.evict(ref.agentId, e.ref.bundleId);
  }

  private enforceBudget(): void {
    let total = this.memoryBytes();
    if (total <= this.budgetBytes) return;
    const idle = this.entries.filter((e) => e.inflight === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (total <= this.budgetBytes) break;
      total -= e.inst.alive ? e.inst.memoryBytes : 0;
      this.remove(e);
      this.evictions++;
    }
  }

  private waitForSlot(bundleId: string, ms: number, limits: Limits): Promise<void> {
    if (ms <= 0) return Promise.reject(failure("overloaded", `All instances are busy (${limits.concurrency} concurrent calls each).`));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(bundleId) ?? [];
      const t = setTimeout(() => {
        const l = this.waiters.get(bundleId);
        l?.splice(l.indexOf(wake), 1);
        reject(failure("overloaded", `All instances are busy (${limits.concurrency} concurrent calls each); waited ${limits.wallMs} ms.`));
      }, ms);
      const wake = () => {
        clearTimeout(t);
        resolve();
      };
      list.push(wake);
      this.waiters.set(bundleId, list);
    });
  }

  private wake(bundleId: string): void {
    this.waiters.get(bundleId)?.shift()?.();
  }
}
