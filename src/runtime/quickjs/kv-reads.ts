/**
 * Worker side: a guest's `kv.get` answered from the sandbox worker's own read-only
 * connection to the server's SQLite file (src/db/kv-file-reader.ts), inside the guest's
 * slice, instead of a round trip to the main thread (issue 15: with a kv.get in a call, the
 * trip cost the main thread ~85 µs and the worker ~90 µs of CPU, more than the rest of a
 * trivial call; bench/invoke.ts `--kv`).
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
 *   read is reported to the main thread's journal (worker.ts `unsentReads`), and a re-run's
 *   reads go through the main thread (wire.ts `bridgedReads`).
 * - The other calls on the worker still get their turns: at most READS_PER_SLICE reads
 *   (instance.ts) are answered here per slice of a call; the next one goes through the main
 *   thread, which ends the slice (a guest awaiting reads in a loop yields as before).
 * Never for scratch runs (their kv is a world the main thread holds) or on PostgreSQL.
 */
import { KvFileReader } from "../../db/kv-file-reader";
import { parseHostCall } from "../host-calls";
import type { Limits } from "../types";

export class WorkerKvReads {
  private reader: KvFileReader;

  /** `file`: the server's SQLite database (EngineFactoryOptions.kvReadFile). Opened on first read. */
  constructor(file: string) {
    this.reader = new KvFileReader(file);
  }

  /**
   * The JSON text the main thread would answer for `kv.get` with `argsJson` of agent
   * `agentId` ("" when the key holds nothing), or null when this read must go through the
   * main thread instead (arguments the validation point refuses, a database that cannot be
   * read here).
   */
  get(agentId: string, argsJson: string, limits: Pick<Limits, "kvValueBytes">): string | null {
    let key: string;
    try {
      const c = parseHostCall("kv.get", argsJson, undefined, limits);
      if (c.op !== "kv.get") return null;
      key = c.key;
    } catch {
      return null;
    }
    return this.reader.value(agentId, key);
  }
}
