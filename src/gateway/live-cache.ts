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

export class LiveCache {
  private bySlug = new Map<string, LiveEntry>();
  private generation = 0;

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
   * Caches `entry`, read by a writer inside the transaction that made it true — called from
   * that transaction's onCommit, after the bus has dropped the agent's old entry (its own
   * `agent.live` is delivered first). A deploy hands its new live entry over this way, so
   * the first call after the switch reads nothing from the database (issue 15, cold start).
   * Any later announced change drops it as usual; a change announced late (a bus that
   * delivers asynchronously) only drops it early.
   */
  put(entry: LiveEntry): void {
    if (this.bySlug.size > 10_000) this.bySlug.clear();
    this.bySlug.set(entry.agent.slug, entry);
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
    for (const [slug, e] of this.bySlug) if (e.agent.id === agentId) this.bySlug.delete(slug);
  }

  private clear(): void {
    this.generation++;
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
