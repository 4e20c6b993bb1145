/**
 * Platform tokens: `ctp_pt_` + 32 base62 chars, one workspace each. Only the SHA-256 hash
 * is stored; lookups go by hash (an index probe) and the final check is constant-time.
 * Verified tokens are cached briefly so a busy client does not cost a query per request.
 */
import { and, count, eq, isNull } from "drizzle-orm";
import type { Db, DbOrTx } from "../db";
import { platformTokens, workspaces } from "../db/schema";
import { AppError } from "../errors";
import { constantTimeEqual, sha256Hex } from "../lib/hash";
import { newId, newSecret } from "../lib/ids";

export const PLATFORM_TOKEN_PREFIX = "ctp_pt_";

export interface Principal {
  workspaceId: string;
  tokenId: string;
}

export interface CreatedToken {
  id: string;
  token: string;
  workspaceId: string;
  name: string;
}

export function createPlatformToken(db: DbOrTx, workspaceId: string, name: string): CreatedToken {
  const token = newSecret(PLATFORM_TOKEN_PREFIX);
  const id = newId("pt");
  db.insert(platformTokens)
    .values({ id, workspaceId, name, tokenHash: sha256Hex(token), prefix: token.slice(0, 11), lastFour: token.slice(-4) })
    .run();
  return { id, token, workspaceId, name };
}

/** First start on an empty database: one workspace and an admin token. Returns null otherwise. */
export function bootstrapWorkspace(db: Db): CreatedToken | null {
  return db.transaction((tx) => {
    const any = tx.select({ id: workspaces.id }).from(workspaces).limit(1).get();
    if (any) return null;
    const workspaceId = newId("ws");
    tx.insert(workspaces).values({ id: workspaceId, name: "default" }).run();
    return createPlatformToken(tx, workspaceId, "admin");
  });
}

export function createWorkspace(db: Db, name: string): { workspaceId: string; token: CreatedToken } {
  return db.transaction((tx) => {
    const workspaceId = newId("ws");
    tx.insert(workspaces).values({ id: workspaceId, name }).run();
    return { workspaceId, token: createPlatformToken(tx, workspaceId, "admin") };
  });
}

/** The workspace with this id, or else the one with this exact name; null when none (or the name is ambiguous). */
export function findWorkspace(db: Db, idOrName: string): string | null {
  const byId = db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, idOrName)).get();
  if (byId) return byId.id;
  const named = db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.name, idOrName)).limit(2).all();
  return named.length === 1 ? named[0]!.id : null;
}

/** How many workspaces exist (Tenancy: the bounds between workspaces bind from two). */
export function countWorkspaces(db: Db): number {
  return db.select({ n: count() }).from(workspaces).get()?.n ?? 0;
}

/** Every workspace, oldest first (the first is the operator's). */
export function listWorkspaces(db: Db): { id: string; name: string; createdAt: number }[] {
  return db.select({ id: workspaces.id, name: workspaces.name, createdAt: workspaces.createdAt }).from(workspaces).orderBy(workspaces.id).all();
}

/** The operator's workspace: the one created at first start (ids sort by creation time). */
export function firstWorkspaceId(db: Db): string | null {
  return db.select({ id: workspaces.id }).from(workspaces).orderBy(workspaces.id).limit(1).get()?.id ?? null;
}

export class PlatformTokenVerifier {
  private cache = new Map<string, { principal: Principal; until: number }>();
  constructor(private db: Db, private ttlMs = 5000) {}

  verify(authorization: string | null): Principal {
    const raw = bearer(authorization);
    if (!raw || !raw.startsWith(PLATFORM_TOKEN_PREFIX)) throw new AppError("unauthorized");
    const hash = sha256Hex(raw);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.principal;
    const row = this.db
      .select()
      .from(platformTokens)
      .where(and(eq(platformTokens.tokenHash, hash), isNull(platformTokens.revokedAt)))
      .get();
    if (!row || !constantTimeEqual(row.tokenHash, hash)) throw new AppError("unauthorized");
    const principal = { workspaceId: row.workspaceId, tokenId: row.id };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: Date.now() + this.ttlMs });
    return principal;
  }

  /** The principal of an active (not revoked) token by id, or null; cached like `verify`. */
  verifyId(tokenId: string): Principal | null {
    const key = `id:${tokenId}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const row = this.db
      .select({ id: platformTokens.id, workspaceId: platformTokens.workspaceId })
      .from(platformTokens)
      .where(and(eq(platformTokens.id, tokenId), isNull(platformTokens.revokedAt)))
      .get();
    if (!row) return null;
    const principal = { workspaceId: row.workspaceId, tokenId: row.id };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal, until: Date.now() + this.ttlMs });
    return principal;
  }

  invalidate(): void {
    this.cache.clear();
  }
}

export function bearer(authorization: string | null): string | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? m[1]! : null;
}
