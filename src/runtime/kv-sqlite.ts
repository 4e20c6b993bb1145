/**
 * KvStore on the `kv` table: JSON values per agent, with a per-value and a per-agent
 * size limit (bytes of the JSON text). Limit violations throw; the guest sees a rejected
 * promise with the message.
 *
 * The per-agent total is kept as a running sum per agent (read once per process with one
 * `sum(size)`, then moved by each write's size difference), so a set costs one primary-key
 * lookup however many keys the agent holds. Summing the agent's rows on every set cost
 * ~100–450 ms of the main thread at a million small keys, which every tenant waited for
 * (threat model, promises 1 and 3; test/attack/kv-total-scan.test.ts). This store is the
 * only writer of the table while the server runs (restore needs the server stopped; an
 * agent's deletion cascades its rows away and its id is never reused). Writes go through
 * the write gate, so the running sum is read and moved by one transaction at a time.
 *
 * On PostgreSQL (cluster mode) other nodes write the same agent's rows, so a total kept in
 * one process's memory goes stale: each write takes the agent's advisory lock
 * (`t.lock("kv:" + agentId)`, held to COMMIT, cluster-wide) and sums the agent's rows under
 * it, which makes the quota exact however many nodes write at once. The sum runs on the
 * database server, not on this event loop; its cost grows with the agent's row count
 * (a usage counter row would make it O(1); see docs/ARCHITECTURE.md).
 */
import { and, eq, gt, gte, lt, sql } from "drizzle-orm";
import { execute, type Db, type Tx } from "../db";
import { dialect, kv } from "../db/schema";
import type { KvStore, Limits } from "./types";

export function createSqliteKv(db: Db): KvStore {
  const byKey = (agentId: string, key: string) => and(eq(kv.agentId, agentId), eq(kv.key, key));
  /** A key no row can have: PostgreSQL text cannot hold U+0000, and the query would fail. */
  const unstorable = (key: string) => dialect() === "postgres" && key.includes("\u0000");
  const sizeOf = async (t: Tx, agentId: string, key: string) => (await t.select({ size: kv.size }).from(kv).where(byKey(agentId, key)).limit(1))[0]?.size;
  /** Bytes each agent's rows use (keys + JSON text), filled on the agent's first write. */
  const totals = new Map<string, number>();
  // Read and moved only inside write transactions, which the gate runs one at a time.
  const sumOf = async (t: Tx, agentId: string) =>
    (await t.select({ total: sql<number>`coalesce(sum(${kv.size}), 0)`.mapWith(Number) }).from(kv).where(eq(kv.agentId, agentId)))[0]?.total ?? 0;
  const totalOf = async (t: Tx, agentId: string) => {
    if (dialect() === "postgres") {
      // Every node writes: the total is the rows' sum, read under the agent's lock.
      await t.lock(`kv:${agentId}`);
      return sumOf(t, agentId);
    }
    let used = totals.get(agentId);
    if (used === undefined) {
      used = await sumOf(t, agentId);
      totals.set(agentId, used);
    }
    return used;
  };

  return {
    async get(agentId, key) {
      if (unstorable(key)) return undefined;
      const row = (await db.select({ value: kv.value }).from(kv).where(byKey(agentId, key)).limit(1))[0];
      return row ? JSON.parse(row.value) : undefined;
    },
    async set(agentId, key, value, limits: Pick<Limits, "kvValueBytes" | "kvTotalBytes">) {
      const text = JSON.stringify(value);
      if (text === undefined) throw new Error("kv: value must be JSON-serializable");
      const size = Buffer.byteLength(text) + Buffer.byteLength(key);
      if (size > limits.kvValueBytes) throw new Error(`kv: value for ${key} is ${size} bytes, over the limit of ${limits.kvValueBytes} bytes`);
      // PostgreSQL text cannot hold U+0000 (JSON.stringify escapes it in values; a key is stored as given).
      if (unstorable(key)) throw new Error("kv: a key cannot contain U+0000 on this server (its database is PostgreSQL)");
      await db.tx(async (t) => {
        const others = (await totalOf(t, agentId)) - ((await sizeOf(t, agentId, key)) ?? 0);
        if (others + size > limits.kvTotalBytes) throw new Error(`kv: storing ${key} would use ${others + size} bytes, over this agent's limit of ${limits.kvTotalBytes} bytes`);
        const now = Date.now();
        await t
          .insert(kv)
          .values({ agentId, key, value: text, size, updatedAt: now })
          .onConflictDoUpdate({ target: [kv.agentId, kv.key], set: { value: text, size, updatedAt: now } });
        // A refused or failed write leaves the sum as it was.
        if (dialect() === "sqlite") t.onCommit(() => totals.set(agentId, others + size));
      });
    },
    async delete(agentId, key) {
      if (unstorable(key)) return false;
      return db.tx(async (t) => {
        if (dialect() === "postgres") await t.lock(`kv:${agentId}`);
        const old = await sizeOf(t, agentId, key);
        if (old === undefined) return false;
        await t.delete(kv).where(byKey(agentId, key));
        t.onCommit(() => {
          if (totals.has(agentId)) totals.set(agentId, totals.get(agentId)! - old);
        });
        return true;
      });
    },
    async list(agentId, opts) {
      const prefix = opts.prefix ?? "";
      if (unstorable(prefix) || unstorable(opts.cursor ?? "")) return { keys: [], cursor: null };
      const limit = opts.limit ?? 100;
      const end = prefix.isWellFormed() ? prefixEnd(prefix) : null; // lone surrogates are bound as U+FFFD
      // A prefix's keys are one range of the primary key, [prefix, prefixEnd(prefix)). Scanning
      // from the cursor with only the substr() filter read every later key of the agent on each
      // call: a prefix no key has scanned them all (seconds of the main thread at 1M keys).
      const rows = await db
        .select({ key: kv.key })
        .from(kv)
        .where(and(eq(kv.agentId, agentId), gt(kv.key, opts.cursor ?? ""), gte(kv.key, prefix), end === null ? undefined : lt(kv.key, end), sql`substr(${kv.key}, 1, length(cast(${prefix} AS text))) = cast(${prefix} AS text)`))
        .orderBy(kv.key)
        .limit(limit + 1);
      const keys = rows.slice(0, limit).map((r) => r.key);
      return { keys, cursor: rows.length > limit ? keys[keys.length - 1]! : null };
    },
  };
}

/**
 * The least string greater than every string that starts with `prefix` (in code point
 * order, which is SQLite's BINARY order of UTF-8 text): the prefix with its last code point
 * below U+10FFFF incremented and what follows dropped. Null when there is none (an empty
 * prefix, or one made only of U+10FFFF).
 */
export function prefixEnd(prefix: string): string | null {
  const cps = [...prefix].map((c) => c.codePointAt(0)!);
  for (let i = cps.length - 1; i >= 0; i--) {
    if (cps[i]! >= 0x10ffff) continue;
    const next = cps[i]! + 1 === 0xd800 ? 0xe000 : cps[i]! + 1;
    return String.fromCodePoint(...cps.slice(0, i), next);
  }
  return null;
}

/**
 * Deletes up to `limit` of an agent's kv rows; returns how many went. An agent's deletion
 * calls it in a loop, yielding between batches, before the agent row goes (its ON DELETE
 * CASCADE would otherwise remove every row in one statement: ~3.8 s of the main thread at a
 * million keys, which every tenant waited for).
 */
export function purgeKvBatch(db: Db, agentId: string, limit: number): Promise<number> {
  // PostgreSQL has no rowid: its row address is ctid.
  const row = sql.raw(dialect() === "postgres" ? "ctid" : "rowid");
  return db.tx((t) => execute(t, sql`DELETE FROM kv WHERE ${row} IN (SELECT ${row} FROM kv WHERE agent_id = ${agentId} LIMIT ${limit})`));
}
