/**
 * Turns an agent row (plus its credential grants) into what the sandbox needs to run its
 * code: limits merged over the server defaults, declared hosts, secret names and hosts.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { agentSecrets } from "../db/schema";
import { defaultLimits, type AgentRuntimeConfig, type BundleRef, type Limits } from "../runtime/types";
import type { AgentRow } from "../agents/view";

export function runtimeConfigFor(db: Db, agent: AgentRow, serverLimits: Partial<Limits> = {}): AgentRuntimeConfig {
  const grants = db.select().from(agentSecrets).where(eq(agentSecrets.agentId, agent.id)).all();
  return {
    agentId: agent.id,
    limits: { ...defaultLimits, ...serverLimits, ...(agent.limits ?? {}) } as Limits,
    allowedHosts: agent.allowedHosts ?? [],
    secrets: grants.map((g) => ({ name: g.alias, hosts: g.hosts })),
    env: agent.env ?? undefined,
    engine: agent.engine === "v8" ? "v8" : agent.engine === "quickjs" ? "quickjs" : undefined,
  };
}

export function bundleRef(agentId: string, bundleId: string, code: string, config: AgentRuntimeConfig): BundleRef {
  return { agentId, bundleId, code, config };
}
