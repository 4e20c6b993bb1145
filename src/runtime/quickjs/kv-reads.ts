/**
 * Worker side: a guest's `kv.get` answered from the sandbox worker's own read-only
 * connection to the server's SQLite file, instead of a round trip to the main thread
 * (issue 15: with a kv.get in a call, the trip cost the main thread ~50 µs and the worker
 * ~90 µs of CPU, more than the rest of a trivial call; bench/invoke.ts `--kv`).
 *
 * What keeps it equal to the main thread's answer (bridges.ts → kv-sqlite.ts):
 * - The arguments go through the same validation point (host-calls.ts parseHostCall); an
 *   argument it refuses, like any failure here, sends the call through the main thread, so
 *   the guest sees the main thread's error.
 * - The row is read by (agent id, key), the agent id being the instance's, which the host
 *   set at load; the guest names only the key, a bound parameter.
 * - The JSON answered is the stored text: kv-sqlite.ts stores `JSON.stringify(value)`, and
 *   the main thread answers `JSON.stringify(JSON.parse(stored))`, the same text.
 * - WAL: a statement reads the latest commit, so a call's `kv.set`, answered after its
 *   commit, is seen by its next `kv.get`; nothing here writes (the connection is read-only).
 * - A re-run after a worker kill (replay.ts) must see what its first attempt saw, so each
 *   read is reported to the main thread's journal (protocol.ts "host-read"), and a re-run's
 *   reads go through the main thread (wire.ts `bridgedReads`).
 * Never for scratch runs (their kv is a world the main thread holds) or on PostgreSQL.
 */
import { Database } from "bun:sqlite";
import { parseHostCall } from "../host-calls";
import type { Limits } from "../types";

/**
 * The kv table's point read (src/db/schema.sqlite.ts `kv`: primary key (agent_id, key));
 * test/runtime/kv-worker-reads.test.ts checks it against what kv-sqlite.ts stores.
 */
export const KV_GET_SQL = "SELECT value FROM kv WHERE agent_id = ? AND key = ? LIMIT 1";

/** Page cache of the worker's connection, KiB: point reads; the OS page cache holds the file. */
const CACHE_KIB = 512;

export class WorkerKvReads {
  private db: Database | null = null;
  private get_: ReturnType<Database["prepare"]> | null = null;
  /** Set once opening failed: every read then goes through the main thread. */
  private broken = false;

  /** `file`: the server's SQLite database (EngineFactoryOptions.kvReadFile). Opened on first read. */
  constructor(private file: string) {}

  /**
   * The JSON text the main thread would answer for `kv.get` with `argsJson` of agent
   * `agentId` ("" when the key holds nothing), or null when this read must go through the
   * main thread instead (arguments the validation point refuses, a database that cannot be
   * read here).
   */
  get(agentId: string, argsJson: string, limits: Pick<Limits, "kvValueBytes">): string | null {
    if (this.broken) return null;
    let key: string;
    try {
      const c = parseHostCall("kv.get", argsJson, undefined, limits);
      if (c.op !== "kv.get") return null;
      key = c.key;
    } catch {
      return null;
    }
    try {
      const row = this.statement().get(agentId, key) as { value: string } | null;
      return row ? row.value : "";
    } catch {
      return null;
    }
  }

  private statement(): ReturnType<Database["prepare"]> {
    if (this.get_) return this.get_;
    try {
      const db = new Database(this.file, { readonly: true, strict: true });
      // Never wait inside SQLite (the worker's other calls would wait too): a busy read goes through the main thread.
      db.exec("PRAGMA busy_timeout = 0");
      db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      this.get_ = db.prepare(KV_GET_SQL);
      this.db = db;
      return this.get_;
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.get_ = null;
  }
}
