/**
 * Turns an agent row (plus its credential grants) into what the sandbox needs to run its
 * code: its limits over the server defaults, capped by the operator's maxima, declared hosts, secret names and hosts.
 */
import { eq } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { agentSecrets } from "../db/schema";
import type { AgentRuntimeConfig, BundleRef } from "../runtime/types";
import { effectiveLimits, type LimitPolicy } from "../agents/limits";
import type { AgentRow } from "../agents/view";

/** `db`: the database or an open transaction (a deploy reads it in the one that switches). `policy`: the operator's defaults and maxima (src/agents/limits.ts); the built-in ones when absent. */
export async function runtimeConfigFor(db: DbOrTx, agent: AgentRow, policy?: LimitPolicy): Promise<AgentRuntimeConfig> {
  const grants = await db.select().from(agentSecrets).where(eq(agentSecrets.agentId, agent.id));
  return {
    agentId: agent.id,
    workspaceId: agent.workspaceId,
    limits: effectiveLimits(agent.limits, policy),
    allowedHosts: agent.allowedHosts ?? [],
    secrets: grants.map((g) => ({ name: g.alias, hosts: g.hosts })),
    env: agent.env ?? undefined,
    engine: agent.engine === "v8" ? "v8" : agent.engine === "quickjs" ? "quickjs" : undefined,
  };
}

export function bundleRef(agentId: string, bundleId: string, code: string, config: AgentRuntimeConfig): BundleRef {
  return { agentId, bundleId, code, config };
}
