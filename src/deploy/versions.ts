/**
 * Versions: every build of an agent (uploaded or generated) is an immutable, numbered row
 * with its source, bundle, content hash, described routes and diagnostics.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db, DbOrTx } from "../db";
import { versions } from "../db/schema";
import { AppError } from "../errors";
import { pageOf, type Page } from "../lib/pagination";
import { iso } from "../lib/time";

export type VersionRow = typeof versions.$inferSelect;

export function versionView(v: VersionRow, liveVersion: number | null, full = false) {
  return {
    id: v.id,
    agentId: v.agentId,
    version: v.number,
    origin: v.origin,
    hash: v.hash,
    live: v.number === liveVersion,
    entrypoint: v.entrypoint,
    files: Object.keys(v.files),
    described: v.described ?? null,
    validation: v.validation ?? null,
    diagnostics: v.diagnostics ?? [],
    createdAt: iso(v.createdAt),
    ...(full ? { source: v.files, spec: v.spec ?? null } : {}),
  };
}

export async function listVersions(db: Db, agentId: string, page: Page) {
  const rows = await db
    .select()
    .from(versions)
    .where(and(eq(versions.agentId, agentId), page.cursor ? lt(versions.id, page.cursor) : undefined))
    // Paged by the key it is ordered by: ids are time-sortable and minted with the number.
    .orderBy(desc(versions.id))
    .limit(page.limit + 1);
  return pageOf(rows, page.limit, (r) => r.id);
}

export async function getVersion(db: DbOrTx, agentId: string, number: number): Promise<VersionRow> {
  const v = (await db.select().from(versions).where(and(eq(versions.agentId, agentId), eq(versions.number, number))).limit(1))[0];
  if (!v) throw new AppError("version_not_found", `Version ${number} does not exist for this agent.`);
  return v;
}

export async function latestVersion(db: Db, agentId: string): Promise<VersionRow | undefined> {
  return (await db.select().from(versions).where(eq(versions.agentId, agentId)).orderBy(desc(versions.number)).limit(1))[0];
}
