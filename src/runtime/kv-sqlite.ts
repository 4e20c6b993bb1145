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
 * agent's deletion cascades its rows away and its id is never reused).
 */
import type { Db } from "../db";
import type { KvStore, Limits } from "./types";

export function createSqliteKv(db: Db): KvStore {
  const sql = db.$client;
  const getQ = sql.query<{ value: string }, [string, string]>("SELECT value FROM kv WHERE agent_id = ? AND key = ?");
  const sumQ = sql.query<{ total: number | null }, [string]>("SELECT sum(size) AS total FROM kv WHERE agent_id = ?");
  const sizeOfQ = sql.query<{ size: number }, [string, string]>("SELECT size FROM kv WHERE agent_id = ? AND key = ?");
  const putQ = sql.query<unknown, [string, string, string, number, number]>(
    "INSERT INTO kv (agent_id, key, value, size, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id, key) DO UPDATE SET value = excluded.value, size = excluded.size, updated_at = excluded.updated_at",
  );
  const delQ = sql.query<unknown, [string, string]>("DELETE FROM kv WHERE agent_id = ? AND key = ?");
  // A prefix's keys are one range of the primary key, [prefix, prefixEnd(prefix)). Scanning
  // from the cursor with only the substr() filter read every later key of the agent on each
  // call: a prefix no key has scanned them all (seconds of the main thread at 1M keys).
  const listRangeQ = sql.query<{ key: string }, [string, string, string, string, number]>(
    "SELECT key FROM kv WHERE agent_id = ?1 AND key > ?2 AND key >= ?3 AND key < ?4 AND substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?5",
  );
  const listFromQ = sql.query<{ key: string }, [string, string, string, number]>(
    "SELECT key FROM kv WHERE agent_id = ?1 AND key > ?2 AND key >= ?3 AND substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?4",
  );
  /** Bytes each agent's rows use (keys + JSON text), filled on the agent's first write. */
  const totals = new Map<string, number>();
  const totalOf = (agentId: string) => {
    let used = totals.get(agentId);
    if (used === undefined) totals.set(agentId, (used = sumQ.get(agentId)?.total ?? 0));
    return used;
  };
  const put = sql.transaction((agentId: string, key: string, text: string, size: number, total: number) => {
    const others = totalOf(agentId) - (sizeOfQ.get(agentId, key)?.size ?? 0);
    if (others + size > total) throw new Error(`kv: storing ${key} would use ${others + size} bytes, over this agent's limit of ${total} bytes`);
    putQ.run(agentId, key, text, size, Date.now());
    return others + size;
  });
  const del = sql.transaction((agentId: string, key: string) => {
    const old = sizeOfQ.get(agentId, key)?.size;
    if (old === undefined) return false;
    delQ.run(agentId, key);
    return old;
  });

  return {
    get(agentId, key) {
      const row = getQ.get(agentId, key);
      return row ? JSON.parse(row.value) : undefined;
    },
    set(agentId, key, value, limits: Pick<Limits, "kvValueBytes" | "kvTotalBytes">) {
      const text = JSON.stringify(value);
      if (text === undefined) throw new Error("kv: value must be JSON-serializable");
      const size = Buffer.byteLength(text) + Buffer.byteLength(key);
      if (size > limits.kvValueBytes) throw new Error(`kv: value for ${key} is ${size} bytes, over the limit of ${limits.kvValueBytes} bytes`);
      const used = put(agentId, key, text, size, limits.kvTotalBytes);
      totals.set(agentId, used); // after the commit: a refused or failed write leaves the sum as it was
    },
    delete(agentId, key) {
      const old = del(agentId, key);
      if (old === false) return false;
      if (totals.has(agentId)) totals.set(agentId, totals.get(agentId)! - old);
      return true;
    },
    list(agentId, opts) {
      const prefix = opts.prefix ?? "";
      const limit = opts.limit ?? 100;
      const end = prefix.isWellFormed() ? prefixEnd(prefix) : null; // lone surrogates are bound as U+FFFD
      const rows = end === null ? listFromQ.all(agentId, opts.cursor ?? "", prefix, limit + 1) : listRangeQ.all(agentId, opts.cursor ?? "", prefix, end, limit + 1);
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
export function purgeKvBatch(db: Db, agentId: string, limit: number): number {
  return db.$client.query("DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE agent_id = ? LIMIT ?)").run(agentId, limit).changes;
}
