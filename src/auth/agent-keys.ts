/**
 * Agent API keys: `ctp_ak_` + 32 base62 chars, scoped to one agent. Stored as a SHA-256
 * hash with a display prefix and last four; the raw key exists only in the create/rotate
 * response. Verification goes through an in-process cache (no SQLite read per call) that
 * revoke, rotate and agent deletion invalidate through the change bus before they return, and a warm call does not hash the key (see
 * `hashes` for why that is as safe); lastUsedAt is collected in memory and written in batches.
 */
import { and, count, desc, eq, inArray, lt, ne, notInArray } from "drizzle-orm";
import { dialect, type Db, type Tx } from "../db";
import { apiKeys } from "../db/schema";
import { AppError } from "../errors";
import { sha256Hex } from "../lib/hash";
import { newId, newSecret } from "../lib/ids";
import { Pacer } from "../lib/pacing";
import { pageOf, type Page } from "../lib/pagination";
import { iso } from "../lib/time";
import { bearer } from "./platform-tokens";

export const AGENT_KEY_PREFIX = "ctp_ak_";
const KEY_SHAPE = /^ctp_ak_[A-Za-z0-9]{32}$/;

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export function apiKeyView(k: ApiKeyRow) {
  return {
    id: k.id,
    agentId: k.agentId,
    name: k.name,
    type: k.type,
    status: k.status,
    prefix: k.prefix,
    lastFour: k.lastFour,
    createdAt: iso(k.createdAt),
    lastUsedAt: iso(k.lastUsedAt),
  };
}

interface CachedKey {
  id: string;
  agentId: string;
  workspaceId: string;
  status: string;
}

/** Entries each cache (known keys, unknown hashes, remembered hashes) holds before it is cleared (a bound, not an LRU: refilling costs one read per key). */
export const CACHE_MAX = 50_000;
/** Keys whose last-used time one transaction of flushUsage writes (~4 ms on SQLite). */
const USAGE_BATCH = 256;
/**
 * Revoked keys kept per agent, the most recently revoked first (the key list shows them, and
 * a caller presenting one is told it was revoked). Older ones are deleted by the revoke or
 * rotation that passes this number: every revoke and rotation leaves a revoked row, so without
 * it a tenant grows api_keys one row per call, forever, and each create's count (under the
 * agent's key lock, on SQLite the write gate on the main thread) reads them all.
 */
export const REVOKED_KEPT = 100;

export class AgentKeys {
  /** Key hash → the stored key it names. Revoke, rotate and delete evict here. */
  private cache = new Map<string, CachedKey>();
  /**
   * Hashes of presented keys that name no stored key, kept apart from `cache` with their own
   * bound: anyone can present well-formed random keys, and had their misses shared `cache`,
   * a caller sending CACHE_MAX of them would clear it, making every tenant's warm keys read
   * the database again.
   */
  private unknown = new Set<string>();
  /**
   * Presented key → its SHA-256, for keys that matched a stored key when first seen, so a
   * warm call does not hash (issue 15). Why this is as safe as hashing every call:
   * - A hit requires the exact same string (Map key equality), and SHA-256 is a function:
   *   the hash taken from here is the one hashing would have given. Every decision
   *   (known, active, scoped to this agent) is still made on `cache`, keyed by that hash,
   *   which revoke, rotate and agent deletion evict; an entry here alone admits nothing.
   * - Only keys that matched a stored row are added (a miss is hashed and looked up as
   *   before), so a caller cannot fill this map with strings of its choosing, nor build
   *   colliding entries to slow its lookups (the engine's string hash is not keyed; the
   *   entries are random 190-bit keys).
   * - Raw keys stay only in memory, as every request's Authorization header already does;
   *   nothing new is written to disk, and the database, backups and logs keep hashes only.
   *   Revoking a key removes it from here too. Someone able to read this process's memory
   *   also holds the master key and sees every header, so the retention gives them nothing.
   */
  private hashes = new Map<string, string>();
  private used = new Map<string, number>();
  /** The values a flush in progress is writing (flushUsage writes them in paced batches; readers still see them). */
  private writing = new Map<string, number>();

  /** Bumped by every eviction: a cache fill that read the database before it is not stored. */
  private generation = 0;

  /**
   * `opts.maxKeysPerAgent`: the most active keys of type "agent" one agent may have
   * (CANTRIP_AGENT_MAX_KEYS; unlimited when absent). Each active key can be held in the
   * caches above and has its last-used time written, so the count bounds what one tenant
   * makes this process keep. The builder's service keys are not counted (one per agent, the
   * platform's own).
   */
  constructor(private db: Db, private opts: { maxKeysPerAgent?: number } = {}) {
    db.bus.subscribe("key.changed", (m) => this.evict(new Set(m.keyHashes)), () => this.reset());
    db.bus.subscribe("agent.deleted", (m) => this.forgetAgent(m.agentId), () => this.reset());
  }

  /**
   * Creates a key; the raw key is in the answer only. A key of type "agent" is refused with
   * 409 `key_limit_reached` (`details: {keys, limit}`), nothing written, when the agent already
   * has `maxKeysPerAgent` active ones: counted in the insert's transaction under the agent's
   * key lock (the write gate on SQLite, an advisory lock on PostgreSQL), so concurrent
   * creations cannot pass it together.
   */
  async create(workspaceId: string, agentId: string, name: string, type = "agent"): Promise<{ key: string; apiKey: ReturnType<typeof apiKeyView> }> {
    const max = type === "agent" ? (this.opts.maxKeysPerAgent ?? Infinity) : Infinity;
    const row = await this.db.tx(async (tx) => {
      if (max !== Infinity) {
        await lockAgentKeys(tx, agentId);
        const have = Number((await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.agentId, agentId), eq(apiKeys.type, "agent"), ne(apiKeys.status, "revoked"))))[0]?.n ?? 0);
        if (have >= max) throw new AppError("key_limit_reached", `The agent has ${have} active API keys, the most one agent may have (${max}); revoke one first.`, { details: { keys: have, limit: max } });
      }
      return this.insert(tx, workspaceId, agentId, name, type);
    });
    return { key: row.key, apiKey: apiKeyView(row.row) };
  }

  async list(workspaceId: string, agentId: string, page: Page) {
    const where = and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.agentId, agentId), page.cursor ? lt(apiKeys.id, page.cursor) : undefined);
    const rows = await this.db.select().from(apiKeys).where(where).orderBy(desc(apiKeys.id)).limit(page.limit + 1);
    const p = pageOf(rows, page.limit, (r) => r.id);
    return { data: p.data.map((r) => apiKeyView(this.withPendingUse(r))), nextCursor: p.nextCursor };
  }

  async get(workspaceId: string, agentId: string, keyId: string): Promise<ApiKeyRow> {
    const row = (await this.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.agentId, agentId), eq(apiKeys.workspaceId, workspaceId)))
      .limit(1))[0];
    if (!row) throw new AppError("key_not_found");
    return this.withPendingUse(row);
  }

  /** Revokes the key; every cache has dropped it by the time this resolves (the bus delivers on commit). */
  async revoke(workspaceId: string, agentId: string, keyId: string) {
    const row = await this.get(workspaceId, agentId, keyId);
    await this.db.tx(async (tx) => {
      if (row.status !== "revoked") {
        await lockAgentKeys(tx, agentId); // pruneRevoked below reads every revoked key of the agent
        await tx.update(apiKeys).set({ status: "revoked", revokedAt: Date.now() }).where(eq(apiKeys.id, keyId));
        await pruneRevoked(tx, agentId);
      }
      tx.publish("key.changed", { keyHashes: [row.keyHash] });
    });
    return apiKeyView({ ...row, status: "revoked", revokedAt: row.revokedAt ?? Date.now() });
  }

  /** Revokes the key and issues a new one with the same name, atomically. */
  async rotate(workspaceId: string, agentId: string, keyId: string) {
    const old = await this.get(workspaceId, agentId, keyId);
    if (old.status === "revoked") throw new AppError("agent_api_key_revoked", "A revoked key cannot be rotated.");
    const created = await this.db.tx(async (tx) => {
      await lockAgentKeys(tx, agentId); // pruneRevoked below reads every revoked key of the agent
      // Conditional, so two rotations of one key cannot both issue a successor.
      const revoked = await tx.update(apiKeys).set({ status: "revoked", revokedAt: Date.now() }).where(and(eq(apiKeys.id, keyId), ne(apiKeys.status, "revoked"))).returning({ id: apiKeys.id });
      if (!revoked.length) throw new AppError("agent_api_key_revoked", "A revoked key cannot be rotated.");
      tx.publish("key.changed", { keyHashes: [old.keyHash] });
      await pruneRevoked(tx, agentId);
      return this.insert(tx, workspaceId, agentId, old.name, old.type);
    });
    return { key: created.key, apiKey: apiKeyView(created.row), rotatedFrom: keyId };
  }

  /** Drops every cached entry of an agent (agent deleted). Its pending lastUsedAt values stay until the next flushUsage, whose UPDATE then matches no row. */
  private forgetAgent(agentId: string): void {
    const gone = new Set<string>();
    for (const [h, v] of this.cache) if (v.agentId === agentId) gone.add(h);
    this.evict(gone);
  }

  /** Forgets key hashes in both caches (the next call with such a key reads the database). */
  private evict(keyHashes: Set<string>): void {
    this.generation++;
    for (const h of keyHashes) {
      this.cache.delete(h);
      this.unknown.delete(h);
    }
    for (const [raw, h] of this.hashes) if (keyHashes.has(h)) this.hashes.delete(raw);
  }

  /** Forgets everything (bus resync). */
  private reset(): void {
    this.generation++;
    this.cache.clear();
    this.unknown.clear();
    this.hashes.clear();
  }

  /**
   * Checks an Authorization header for the agent `agentId`. Throws the invoke contract's
   * codes: missing / malformed / invalid / revoked / scope mismatch. A key seen before is
   * answered from memory (no database read, no await on the warm path); a new one costs
   * one read, whose result is cached unless a change was announced meanwhile.
   */
  verify(authorization: string | null, agentId: string): CachedKey | Promise<CachedKey> {
    if (!authorization || !authorization.trim()) throw new AppError("missing_agent_api_key");
    const raw = bearer(authorization);
    if (!raw || !KEY_SHAPE.test(raw)) throw new AppError("malformed_agent_api_key");
    const known = this.hashes.get(raw);
    const hash = known ?? sha256Hex(raw);
    const key = this.cache.get(hash);
    if (key !== undefined) return this.admit(raw, hash, known !== undefined, key, agentId);
    if (this.unknown.has(hash)) throw new AppError("invalid_agent_api_key");
    return this.load(raw, hash, agentId);
  }

  private async load(raw: string, hash: string, agentId: string): Promise<CachedKey> {
    const generation = this.generation;
    const row = (await this.db.select().from(apiKeys).where(eq(apiKeys.keyHash, hash)).limit(1))[0];
    const key = row ? { id: row.id, agentId: row.agentId, workspaceId: row.workspaceId, status: row.status } : null;
    if (generation === this.generation) {
      if (!key) {
        if (this.unknown.size >= CACHE_MAX) this.unknown.clear();
        this.unknown.add(hash);
      } else {
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(hash, key);
      }
    }
    return this.admit(raw, hash, false, key, agentId, generation === this.generation);
  }

  private admit(raw: string, hash: string, known: boolean, key: CachedKey | null, agentId: string, remember = true): CachedKey {
    if (!key) throw new AppError("invalid_agent_api_key");
    if (!known && remember && key.status === "active") {
      if (this.hashes.size >= CACHE_MAX) this.hashes.clear();
      this.hashes.set(raw, hash);
    }
    if (key.status !== "active") throw new AppError("agent_api_key_revoked");
    if (key.agentId !== agentId) throw new AppError("agent_api_key_scope_mismatch");
    this.used.set(key.id, Date.now());
    return key;
  }

  /**
   * Writes collected lastUsedAt values, USAGE_BATCH keys per transaction with a pause between
   * transactions (src/lib/pacing.ts: on SQLite they run on the main thread, and 5,000 keys in
   * one transaction held the event loop ~75 ms). If a batch fails, each of its values is tried
   * alone; values that still fail are discarded (lastUsedAt is a hint, and the next call of
   * the key records it again) and one error naming how many is thrown, for the caller's loop
   * to log. Returns the number of keys whose time was taken for writing.
   */
  async flushUsage(): Promise<number> {
    if (this.used.size === 0) return 0;
    const entries = [...this.used];
    this.writing = this.used;
    this.used = new Map();
    const pacer = new Pacer(dialect() === "sqlite");
    const write = (tx: Tx, [id, at]: [string, number]) => tx.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
    let failed = 0;
    let first: unknown;
    for (let from = 0; from < entries.length; from += USAGE_BATCH) {
      const batch = entries.slice(from, from + USAGE_BATCH);
      const started = performance.now();
      try {
        await this.db.tx(async (tx) => {
          for (const e of batch) await write(tx, e);
        });
      } catch {
        for (const e of batch) {
          try {
            await this.db.tx((tx) => write(tx, e));
          } catch (err) {
            failed++;
            first ??= err;
          }
        }
      }
      if (from + USAGE_BATCH < entries.length) await pacer.step(performance.now() - started, true);
    }
    this.writing = new Map();
    if (failed) throw new Error(`lastUsedAt not written for ${failed} of ${entries.length} keys: ${(first as Error)?.message ?? first}`, { cause: first });
    return entries.length;
  }

  private withPendingUse(r: ApiKeyRow): ApiKeyRow {
    const at = this.used.get(r.id) ?? this.writing.get(r.id);
    return at ? { ...r, lastUsedAt: at } : r;
  }

  private async insert(db: Tx, workspaceId: string, agentId: string, name: string, type: string) {
    const key = newSecret(AGENT_KEY_PREFIX);
    const row = (await db
      .insert(apiKeys)
      .values({ id: newId("key"), workspaceId, agentId, name, type, keyHash: sha256Hex(key), prefix: key.slice(0, 11), lastFour: key.slice(-4) })
      .returning())[0]!;
    return { key, row };
  }
}

/**
 * Takes the agent's key lock for the rest of the caller's transaction: the key cap's count in
 * create and the revoked-key pruning of revoke and rotate run under it, so concurrent ones
 * each see the others' committed keys (the write gate already serialises them on SQLite).
 */
function lockAgentKeys(tx: Tx, agentId: string): Promise<void> {
  return tx.lock(`agent-keys:${agentId}`);
}

/**
 * Deletes the agent's revoked keys past the REVOKED_KEPT most recently revoked (in the
 * caller's transaction, which holds the agent's key lock: on PostgreSQL two concurrent
 * revokes would otherwise each keep the other's uncommitted revoked key, 101 left). Their hashes need no eviction: a cached entry of a revoked key
 * already refuses it, and a cold lookup now answers invalid_agent_api_key instead.
 */
async function pruneRevoked(tx: Tx, agentId: string): Promise<void> {
  const revoked = and(eq(apiKeys.agentId, agentId), eq(apiKeys.status, "revoked"));
  const kept = tx.select({ id: apiKeys.id }).from(apiKeys).where(revoked).orderBy(desc(apiKeys.revokedAt), desc(apiKeys.id)).limit(REVOKED_KEPT);
  await tx.delete(apiKeys).where(and(revoked, notInArray(apiKeys.id, kept)));
}

/** Revokes every key of these agents (inside the caller's transaction), announcing the change. */
export async function revokeAllForAgent(tx: Tx, agentIds: string[]): Promise<void> {
  if (!agentIds.length) return;
  const rows = await tx.update(apiKeys).set({ status: "revoked", revokedAt: Date.now() }).where(inArray(apiKeys.agentId, agentIds)).returning({ keyHash: apiKeys.keyHash });
  if (rows.length) tx.publish("key.changed", { keyHashes: rows.map((r) => r.keyHash) });
}
