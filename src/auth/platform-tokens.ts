/**
 * Platform tokens: `ctp_pt_` + 32 base62 chars, one workspace each. Only the SHA-256 hash
 * is stored; lookups go by hash (an index probe) and the final check is constant-time.
 * Verified tokens are cached briefly so a busy client does not cost a query per request.
 */
import { and, count, eq, isNull } from "drizzle-orm";
import type { Db, Tx } from "../db";
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

export async function createPlatformToken(db: Tx, workspaceId: string, name: string): Promise<CreatedToken> {
  const token = newSecret(PLATFORM_TOKEN_PREFIX);
  const id = newId("pt");
  await db.insert(platformTokens).values({ id, workspaceId, name, tokenHash: sha256Hex(token), prefix: token.slice(0, 11), lastFour: token.slice(-4) });
  return { id, token, workspaceId, name };
}

/** First start on an empty database: one workspace and an admin token. Returns null otherwise. */
export function bootstrapWorkspace(db: Db): Promise<CreatedToken | null> {
  return db.tx(async (tx) => {
    // Nodes starting together on an empty PostgreSQL database create one workspace.
    await tx.lock("cantrip.bootstrap");
    const any = (await tx.select({ id: workspaces.id }).from(workspaces).limit(1))[0];
    if (any) return null;
    const workspaceId = newId("ws");
    await tx.insert(workspaces).values({ id: workspaceId, name: "default" });
    return createPlatformToken(tx, workspaceId, "admin");
  });
}

export function createWorkspace(db: Db, name: string): Promise<{ workspaceId: string; token: CreatedToken }> {
  return db.tx(async (tx) => {
    const workspaceId = newId("ws");
    await tx.insert(workspaces).values({ id: workspaceId, name });
    return { workspaceId, token: await createPlatformToken(tx, workspaceId, "admin") };
  });
}

/** The workspace with this id, or else the one with this exact name; null when none (or the name is ambiguous). */
export async function findWorkspace(db: Db, idOrName: string): Promise<string | null> {
  const byId = (await db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, idOrName)).limit(1))[0];
  if (byId) return byId.id;
  const named = await db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.name, idOrName)).limit(2);
  return named.length === 1 ? named[0]!.id : null;
}

/** How many workspaces exist (Tenancy: the bounds between workspaces bind from two). */
export async function countWorkspaces(db: Db): Promise<number> {
  return (await db.select({ n: count() }).from(workspaces))[0]?.n ?? 0;
}

/** Every workspace, oldest first (the first is the operator's). */
export async function listWorkspaces(db: Db): Promise<{ id: string; name: string; createdAt: number }[]> {
  return await db.select({ id: workspaces.id, name: workspaces.name, createdAt: workspaces.createdAt }).from(workspaces).orderBy(workspaces.id);
}

/** The operator's workspace: the one created at first start (ids sort by creation time). */
export async function firstWorkspaceId(db: Db): Promise<string | null> {
  return (await db.select({ id: workspaces.id }).from(workspaces).orderBy(workspaces.id).limit(1))[0]?.id ?? null;
}

/**
 * Verified tokens, cached for `ttlMs` (keyed by token hash, and by `id:` + token id for
 * dashboard sessions). The cache drops a token named on the bus (`token.changed`) and
 * everything on a resync; the TTL bounds staleness for revocations made by another process
 * (the CLI works on the file directly).
 */
export class PlatformTokenVerifier {
  private cache = new Map<string, { principal: Principal; until: number }>();
  constructor(private db: Db, private ttlMs = 5000) {
    db.bus.subscribe("token.changed", (m) => this.forget(m.tokenHash), () => this.invalidate());
  }

  /** Drops one token (by hash) and every id-keyed entry (ids are not known from a hash). */
  private forget(tokenHash: string): void {
    this.cache.delete(tokenHash);
    for (const k of this.cache.keys()) if (k.startsWith("id:")) this.cache.delete(k);
  }

  async verify(authorization: string | null): Promise<Principal> {
    const raw = bearer(authorization);
    if (!raw || !raw.startsWith(PLATFORM_TOKEN_PREFIX)) throw new AppError("unauthorized");
    const hash = sha256Hex(raw);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.principal;
    const row = (await this.db
      .select()
      .from(platformTokens)
      .where(and(eq(platformTokens.tokenHash, hash), isNull(platformTokens.revokedAt)))
      .limit(1))[0];
    if (!row || !constantTimeEqual(row.tokenHash, hash)) throw new AppError("unauthorized");
    const principal = { workspaceId: row.workspaceId, tokenId: row.id };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: Date.now() + this.ttlMs });
    return principal;
  }

  /** The principal of an active (not revoked) token by id, or null; cached like `verify`. */
  async verifyId(tokenId: string): Promise<Principal | null> {
    const key = `id:${tokenId}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const row = (await this.db
      .select({ id: platformTokens.id, workspaceId: platformTokens.workspaceId })
      .from(platformTokens)
      .where(and(eq(platformTokens.id, tokenId), isNull(platformTokens.revokedAt)))
      .limit(1))[0];
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
