/**
 * What the gateway needs per slug (the agent, its live bundle and runtime config), cached
 * in memory so a warm call reads nothing from SQLite. Deploy, rollback, stop, delete and
 * credential grants invalidate the agent's entry at once.
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
  private bySlug = new Map<string, LiveEntry | null>();

  constructor(private db: Db, private serverLimits?: LimitPolicy) {}

  get(slug: string): LiveEntry | null {
    const hit = this.bySlug.get(slug);
    if (hit !== undefined) return hit;
    const entry = this.load(slug);
    if (this.bySlug.size > 10_000) this.bySlug.clear();
    // Unknown slugs are not cached: an agent created later must be found at once.
    if (entry) this.bySlug.set(slug, entry);
    return entry;
  }

  invalidate(agentId: string): void {
    for (const [slug, e] of this.bySlug) if (!e || e.agent.id === agentId) this.bySlug.delete(slug);
  }

  clear(): void {
    this.bySlug.clear();
  }

  private load(slug: string): LiveEntry | null {
    const agent = this.db.select().from(agents).where(eq(agents.slug, slug)).get();
    if (!agent) return null;
    if (agent.liveVersion === null) return { agent, ref: null, version: null };
    const v = this.db
      .select({ id: versions.id, bundle: versions.bundle })
      .from(versions)
      .where(and(eq(versions.agentId, agent.id), eq(versions.number, agent.liveVersion)))
      .get();
    if (!v?.bundle) return { agent, ref: null, version: null };
    const config = runtimeConfigFor(this.db, agent, this.serverLimits);
    return { agent, version: agent.liveVersion, ref: { agentId: agent.id, bundleId: v.id, code: v.bundle, config } };
  }
}
