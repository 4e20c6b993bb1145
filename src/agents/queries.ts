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

export function listAgents(db: Db, workspaceId: string, page: Page) {
  const rows = db
    .select()
    .from(agents)
    .where(page.cursor ? and(eq(agents.workspaceId, workspaceId), lt(agents.id, page.cursor)) : eq(agents.workspaceId, workspaceId))
    .orderBy(desc(agents.id))
    .limit(page.limit + 1)
    .all();
  return pageOf(rows, page.limit, (r) => r.id);
}

export function getAgent(db: Db, workspaceId: string, id: string): AgentRow {
  const row = db.select().from(agents).where(and(eq(agents.id, id), eq(agents.workspaceId, workspaceId))).get();
  if (!row) throw new AppError("agent_not_found");
  return row;
}

export function getAgentBySlug(db: Db, workspaceId: string, slug: string): AgentRow {
  const row = db.select().from(agents).where(and(eq(agents.slug, slug), eq(agents.workspaceId, workspaceId))).get();
  if (!row) throw new AppError("agent_not_found");
  return row;
}

/** Unscoped lookup for the gateway (the agent key decides access). */
export function findAgentBySlug(db: Db, slug: string): AgentRow | undefined {
  return db.select().from(agents).where(eq(agents.slug, slug)).get();
}
