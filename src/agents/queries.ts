/**
 * Reading agents, always scoped to the caller's workspace: an agent of another workspace
 * is indistinguishable from one that does not exist (404 agent_not_found).
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db";
import { agents } from "../db/schema";
import { AppError } from "../errors";
import { pageOf, type Page } from "../lib/pagination";
import type { AgentRow } from "./view";

export async function listAgents(db: Db, workspaceId: string, page: Page) {
  const rows = await db
    .select()
    .from(agents)
    .where(page.cursor ? and(eq(agents.workspaceId, workspaceId), lt(agents.id, page.cursor)) : eq(agents.workspaceId, workspaceId))
    .orderBy(desc(agents.id))
    .limit(page.limit + 1);
  return pageOf(rows, page.limit, (r) => r.id);
}

export async function getAgent(db: Db, workspaceId: string, id: string): Promise<AgentRow> {
  const row = (await db.select().from(agents).where(and(eq(agents.id, id), eq(agents.workspaceId, workspaceId))).limit(1))[0];
  if (!row) throw new AppError("agent_not_found");
  return row;
}

export async function getAgentBySlug(db: Db, workspaceId: string, slug: string): Promise<AgentRow> {
  const row = (await db.select().from(agents).where(and(eq(agents.slug, slug), eq(agents.workspaceId, workspaceId))).limit(1))[0];
  if (!row) throw new AppError("agent_not_found");
  return row;
}

/** Unscoped lookup for the gateway (the agent key decides access). */
export async function findAgentBySlug(db: Db, slug: string): Promise<AgentRow | undefined> {
  return (await db.select().from(agents).where(eq(agents.slug, slug)).limit(1))[0];
}
