/**
 * KvStore on the `kv` table: JSON values per agent, with a per-value and a per-agent
 * size limit (bytes of the JSON text). Limit violations throw; the guest sees a rejected
 * promise with the message.
 */
import type { Db } from "../db";
import type { KvStore, Limits } from "./types";

export function createSqliteKv(db: Db): KvStore {
  const sql = db.$client;
  const getQ = sql.query<{ value: string }, [string, string]>("SELECT value FROM kv WHERE agent_id = ? AND key = ?");
  const sizeQ = sql.query<{ total: number | null }, [string, string]>("SELECT sum(size) AS total FROM kv WHERE agent_id = ? AND key <> ?");
  const putQ = sql.query<unknown, [string, string, string, number, number]>(
    "INSERT INTO kv (agent_id, key, value, size, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id, key) DO UPDATE SET value = excluded.value, size = excluded.size, updated_at = excluded.updated_at",
  );
  const delQ = sql.query<unknown, [string, string]>("DELETE FROM kv WHERE agent_id = ? AND key = ?");
  const listQ = sql.query<{ key: string }, [string, string, string, string, number]>(
    "SELECT key FROM kv WHERE agent_id = ? AND key > ? AND substr(key, 1, length(?)) = ? ORDER BY key LIMIT ?",
  );
  const put = sql.transaction((agentId: string, key: string, text: string, size: number, total: number) => {
    const others = sizeQ.get(agentId, key)?.total ?? 0;
    if (others + size > total) throw new Error(`kv: storing ${key} would use ${others + size} bytes, over this agent's limit of ${total} bytes`);
    putQ.run(agentId, key, text, size, Date.now());
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
      put(agentId, key, text, size, limits.kvTotalBytes);
    },
    delete(agentId, key) {
      return delQ.run(agentId, key).changes > 0;
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
