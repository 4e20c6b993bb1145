/**
 * What the gateway needs per slug (the agent, its live bundle and runtime config), cached
 * in memory so a warm call reads nothing from the database and awaits nothing (`peek`).
 * Deploy, rollback, stop, limits, credential grants and delete announce `agent.live` /
 * `agent.deleted` on the change bus in their transaction; the entry is dropped when it
 * commits, before the writer's call returns. A resync clears everything. A fill that read
 * the database before an invalidation is not stored (the generation check), so a load
 * racing a deploy cannot put the old version back.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { agents, versions } from "../db/schema";
import type { BundleRef } from "../runtime/types";
import type { LimitPolicy } from "../agents/limits";
import { runtimeConfigFor } from "../deploy/runtime-config";
import type { AgentRow } from "../agents/view";

export interface LiveEntry {
  agent: AgentRow;
  /** null when the agent has no live version. */
  ref: BundleRef | null;
  version: number | null;
}

/** An agent's invalidation count when a writer began (LiveCache.mark / put). */
export interface LiveMark {
  agentId: string;
  count: number;
  epoch: number;
}

export class LiveCache {
  private bySlug = new Map<string, LiveEntry>();
  private generation = 0;
  /** Invalidations delivered per agent (since the last resync), and resyncs so far: what put() checks a mark against. */
  private invalidations = new Map<string, number>();
  private epoch = 0;

  constructor(private db: Db, private serverLimits?: LimitPolicy) {
    db.bus.subscribe("agent.live", (m) => this.invalidate(m.agentId), () => this.clear());
    db.bus.subscribe("agent.deleted", (m) => this.invalidate(m.agentId), () => this.clear());
  }

  /** The cached entry, without touching the database; undefined when not cached. */
  peek(slug: string): LiveEntry | undefined {
    return this.bySlug.get(slug);
  }

  /** The slug of a cached agent (metrics labels; a scan, called once per new label). */
  slugOf(agentId: string): string | undefined {
    for (const e of this.bySlug.values()) if (e.agent.id === agentId) return e.agent.slug;
    return undefined;
  }

  /**
   * Where the agent's invalidations stand now: a writer takes this at the start of the
   * transaction whose result it will `put` (see there).
   */
  mark(agentId: string): LiveMark {
    return { agentId, count: this.invalidations.get(agentId) ?? 0, epoch: this.epoch };
  }

  /**
   * Caches `entry`, read by a writer inside the transaction that made it true (a deploy
   * handing over its new live entry, so the first call after the switch reads nothing from
   * the database: issue 15, cold start). Called from that transaction's onCommit, after the
   * bus delivered its own `agent.live`. Kept only if that was the agent's one invalidation
   * since `mark` was taken and nothing was resynced: on PostgreSQL another transaction on the
   * same agent may commit and be delivered around this one, and its newer state must win.
   */
  put(entry: LiveEntry, mark: LiveMark): boolean {
    if (entry.agent.id !== mark.agentId || this.epoch !== mark.epoch || (this.invalidations.get(mark.agentId) ?? 0) !== mark.count + 1) return false;
    if (this.bySlug.size > 10_000) this.bySlug.clear();
    this.bySlug.set(entry.agent.slug, entry);
    return true;
  }

  /** The entry for `slug` (cached, or read and cached); null when no agent has it. */
  async get(slug: string): Promise<LiveEntry | null> {
    const hit = this.bySlug.get(slug);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const entry = await this.load(slug);
    // Unknown slugs are not cached: an agent created later must be found at once.
    if (entry && generation === this.generation) {
      if (this.bySlug.size > 10_000) this.bySlug.clear();
      this.bySlug.set(slug, entry);
    }
    return entry;
  }

  private invalidate(agentId: string): void {
    this.generation++;
    if (this.invalidations.size > 100_000) this.clear();
    this.invalidations.set(agentId, (this.invalidations.get(agentId) ?? 0) + 1);
    for (const [slug, e] of this.bySlug) if (e.agent.id === agentId) this.bySlug.delete(slug);
  }

  private clear(): void {
    this.generation++;
    this.epoch++;
    this.invalidations.clear();
    this.bySlug.clear();
  }

  private async load(slug: string): Promise<LiveEntry | null> {
    const agent = (await this.db.select().from(agents).where(eq(agents.slug, slug)).limit(1))[0];
    if (!agent) return null;
    if (agent.liveVersion === null) return { agent, ref: null, version: null };
    const v = (await this.db
      .select({ id: versions.id, bundle: versions.bundle })
      .from(versions)
      .where(and(eq(versions.agentId, agent.id), eq(versions.number, agent.liveVersion)))
      .limit(1))[0];
    if (!v?.bundle) return { agent, ref: null, version: null };
    const config = await runtimeConfigFor(this.db, agent, this.serverLimits);
    return { agent, version: agent.liveVersion, ref: { agentId: agent.id, bundleId: v.id, code: v.bundle, config } };
  }
}
