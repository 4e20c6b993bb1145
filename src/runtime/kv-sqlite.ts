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
  const listQ = sql.query<{ key: string }, [string, string, string, string, number]>(
    "SELECT key FROM kv WHERE agent_id = ? AND key > ? AND substr(key, 1, length(?)) = ? ORDER BY key LIMIT ?",
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
      const rows = listQ.all(agentId, opts.cursor ?? "", prefix, prefix, limit + 1);
      const keys = rows.slice(0, limit).map((r) => r.key);
      return { keys, cursor: rows.length > limit ? keys[keys.length - 1]! : null };
    },
  };
}
