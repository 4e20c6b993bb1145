/**
 * The one synchronous read of the database outside the main thread: a sandbox worker's own
 * read-only connection to the server's SQLite file, for the guest's `kv.get`
 * (src/runtime/quickjs/kv-reads.ts answers it inside the guest's slice, issue 15). Everything
 * else goes through the asynchronous `Db`; this stays synchronous by design, and stays here so
 * that only `src/db` touches the driver (test/db/no-sync-calls.test.ts).
 *
 * The connection is read-only and never waits inside SQLite (`busy_timeout = 0`: a worker
 * thread that waited would hold every other call on it); each read is one statement, which
 * bun:sqlite resets after it, so no snapshot stays open to hold back WAL checkpoints.
 */
import { Database } from "bun:sqlite";

/** The kv table's point read (schema.sqlite.ts `kv`, primary key (agent_id, key)). */
export const KV_VALUE_SQL = "SELECT value FROM kv WHERE agent_id = ? AND key = ? LIMIT 1";

/** Page cache of the connection, KiB: point reads; the OS page cache holds the file. */
const CACHE_KIB = 512;
/** Failed opens after which the reader gives up for good (a momentary busy is retried). */
const MAX_OPEN_FAILURES = 3;

export class KvFileReader {
  /** The statement of the connection opened on first read (held for the worker's life: it ends with the thread). */
  private stmt: ReturnType<Database["prepare"]> | null = null;
  private failures = 0;

  /** `file`: the server's SQLite database. Opened on first read. */
  constructor(private file: string) {}

  /**
   * The stored JSON text of `key` of agent `agentId`; "" when there is no such row; null when
   * it could not be read here (the caller then asks the main thread).
   */
  value(agentId: string, key: string): string | null {
    const stmt = this.statement();
    if (!stmt) return null;
    try {
      const row = stmt.get(agentId, key) as { value: string } | null;
      return row ? row.value : "";
    } catch {
      return null;
    }
  }

  private statement(): ReturnType<Database["prepare"]> | null {
    if (this.stmt || this.failures >= MAX_OPEN_FAILURES) return this.stmt;
    let db: Database | null = null;
    try {
      db = new Database(this.file, { readonly: true, strict: true });
      db.exec("PRAGMA busy_timeout = 0");
      db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      this.stmt = db.prepare(KV_VALUE_SQL);
      return this.stmt;
    } catch {
      this.failures++;
      try {
        db?.close();
      } catch {}
      return null;
    }
  }
}
