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
 * one process's memory goes stale: there the total lives in the agent's `kv_usage` row
 * (schema.pg.ts), read and moved under the agent's advisory lock (`t.lock("kv:" +
 * agentId)`, held to COMMIT, cluster-wide), which makes the quota exact however many nodes
 * write at once, still at one primary-key read per write. A missing row (rows seeded
 * outside this store, or a purge) is filled by one `sum(size)` on the next write.
 */
import { and, eq, gt, gte, lt, sql } from "drizzle-orm";
import { execute, positionalRead, positionalWrite, queryRow, type Db, type Tx } from "../db";
import { dialect, kv } from "../db/schema";
import type { KvStore, Limits } from "./types";

const byKey = (agentId: string, key: string) => and(eq(kv.agentId, agentId), eq(kv.key, key));
/** `sql.placeholder(name)` typed as the column value it stands for. */
const p = <T = string>(name: string) => sql.placeholder(name) as unknown as T;
const byKeyPlaceholders = () => and(eq(kv.agentId, p("agentId")), eq(kv.key, p("key")));

/**
 * The point statements of a kv call on SQLite, each compiled by drizzle once per connection
 * and run straight on bun:sqlite (db/raw.ts): building a query through drizzle on every call
 * cost ~30 µs of the main thread per kv.get, which every backend's calls wait behind (issue
 * 15; bench: a backend doing one kv.get per call). PostgreSQL keeps drizzle's queries.
 */
const sqliteValue = positionalRead<{ value: string }>((db) => db.select({ value: kv.value }).from(kv).where(byKeyPlaceholders()).limit(p<number>("limit")), ["agentId", "key", "limit"]);
const sqliteSize = positionalRead<{ size: number }>((db) => db.select({ size: kv.size }).from(kv).where(byKeyPlaceholders()).limit(p<number>("limit")), ["agentId", "key", "limit"]);
const sqliteUpsert = positionalWrite(
  (t) =>
    t
      .insert(kv)
      .values({ agentId: p("agentId"), key: p("key"), value: p("value"), size: p<number>("size"), updatedAt: p<number>("updatedAt") })
      .onConflictDoUpdate({ target: [kv.agentId, kv.key], set: { value: sql`excluded.value`, size: sql`excluded.size`, updatedAt: sql`excluded.updated_at` } }),
  ["agentId", "key", "value", "size", "updatedAt"],
);
const sqliteDelete = positionalWrite((t) => t.delete(kv).where(byKeyPlaceholders()), ["agentId", "key"]);

/** Most kv writes one group-commit transaction takes (each a few µs; the batch holds the write gate). */
export const KV_BATCH_MAX = 256;
/**
 * Bytes (key and JSON text, as the quota counts them) that one group-commit transaction
 * writes or deletes before it takes no more writes: the batch runs on the main thread in one
 * piece, and a 256 KiB value costs ~0.2 ms to write (~0.07 ms to delete), so 256 of them in
 * one batch had held the event loop ~55 ms (one agent overwriting one key from concurrent
 * kv.set calls, within its quota). The first write of a batch is always taken.
 */
export const KV_BATCH_BYTES = 1024 * 1024;

/** A kv write's body: runs in its transaction (or savepoint); `charge(bytes)` says how many bytes it wrote or deleted. */
type WriteRun<R> = (t: Tx, charge: (bytes: number) => void) => Promise<R>;

/**
 * Group commit for kv writes on SQLite: writes that arrive while the process is in one turn
 * of its event loop, or while the previous batch holds the write gate, share one
 * transaction, each in its own savepoint. A write that throws (a quota refusal) rolls back
 * its savepoint alone and rejects alone; each resolves after the shared COMMIT (so a read
 * after it sees it), and a COMMIT that fails rejects every write of its batch, as a BEGIN
 * that fails (the file's write lock held elsewhere past the busy timeout) rejects the writes
 * that were waiting for it. A
 * transaction per write cost ~22 µs of the main thread in BEGIN/COMMIT alone (the WAL's
 * writes), ~2 µs each when 20 share one (issue 15). A batch takes at most KV_BATCH_MAX
 * writes and stops taking once it has written KV_BATCH_BYTES; the rest wait, in order, for
 * the next batch, a turn of the event loop later. PostgreSQL keeps a transaction per
 * write: its writes take per-agent advisory locks held to COMMIT, which a batch of several
 * agents' writes must not hold together. A read of an agent with writes not yet settled
 * waits for them (`settled`): a guest's `kv.set` it did not await, then its `kv.get`, read
 * the write before group commit deferred it to the next turn, and still does.
 */
class WriteBatches {
  private queue: { run: WriteRun<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private started = false;
  /**
   * Per agent: a promise that settles with its latest write not yet settled. Writes settle in
   * the order they were queued (batches run in order, and a batch's writes settle together),
   * so it settles once every write of the agent queued before it has.
   */
  private latest = new Map<string, Promise<void>>();

  /** `ended`: a batch's transaction has committed or rolled back (after its commit hooks ran). */
  constructor(private db: Db, private ended: () => void) {}

  /** Runs `run` (a write of `agentId`'s) inside a savepoint of the next batch's transaction; resolves with its result once that commits. */
  write<R>(agentId: string, run: WriteRun<R>): Promise<R> {
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    this.latest.set(agentId, done);
    const settled = () => {
      if (this.latest.get(agentId) === done) this.latest.delete(agentId);
      settle();
    };
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ run, resolve: (v) => (settled(), resolve(v as R)), reject: (e) => (settled(), reject(e)) });
      if (!this.started) {
        this.started = true;
        // Next turn: the writes the main thread takes from this turn's messages join.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Settles once `agentId`'s writes queued before now have settled (later ones are not waited for); undefined when there are none. */
  settled(agentId: string): Promise<void> | undefined {
    return this.latest.get(agentId);
  }

  private flush(): void {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    const ops: typeof this.queue = [];
    // The writes waiting now: if the gate cannot begin the transaction (another connection
    // held the file's write lock past the busy timeout), they fail, as a write's own
    // transaction would; writes that arrive meanwhile get the next attempt.
    const waiting = this.queue.length;
    this.db
      .tx(async () => {
        // Taken once the gate is held, in order: writes queued while waiting for it join this batch.
        let bytes = 0;
        const charge = (n: number) => (bytes += n);
        try {
          while (ops.length < this.queue.length && ops.length < KV_BATCH_MAX && bytes < KV_BATCH_BYTES) {
            const op = this.queue[ops.length]!;
            ops.push(op);
            try {
              outcomes.push({ ok: true, value: await this.db.tx((t) => op.run(t, charge)) });
            } catch (e) {
              outcomes.push({ ok: false, value: e });
            }
          }
        } finally {
          this.queue.splice(0, ops.length);
        }
      })
      .then(
        () => {
          this.ended();
          ops.forEach((op, i) => (outcomes[i]!.ok ? op.resolve(outcomes[i]!.value) : op.reject(outcomes[i]!.value)));
        },
        (e) => {
          this.ended();
          (ops.length ? ops : this.queue.splice(0, waiting)).forEach((op) => op.reject(e));
        },
      )
      .finally(() => {
        if (this.queue.length) setImmediate(() => this.flush());
        else this.started = false;
      });
  }
}

export function createSqliteKv(db: Db): KvStore {
  const pg = dialect() === "postgres";
  /** A key no row can have: PostgreSQL text cannot hold U+0000, and the query would fail. */
  const unstorable = (key: string) => pg && key.includes("\u0000");
  const sumOf = async (t: Tx, agentId: string) =>
    (await t.select({ total: sql<number>`coalesce(sum(${kv.size}), 0)`.mapWith(Number) }).from(kv).where(eq(kv.agentId, agentId)))[0]?.total ?? 0;
  const sizeOf = async (t: Tx, agentId: string, key: string) =>
    pg ? (await t.select({ size: kv.size }).from(kv).where(byKey(agentId, key)).limit(1))[0]?.size : sqliteSize.get(t, [agentId, key, 1])?.size;
  const inMemory = pg ? null : usageInMemory(sumOf);
  const usage = inMemory ?? usageRow(sumOf);
  const batches = inMemory ? new WriteBatches(db, () => inMemory.ended()) : null;
  /** A kv write in its own transaction (PostgreSQL) or in a savepoint of a shared one (SQLite). */
  const write = <R>(agentId: string, run: WriteRun<R>): Promise<R> => (batches ? batches.write(agentId, run) : db.tx((t) => run(t, () => {})));

  return {
    async get(agentId, key) {
      if (unstorable(key)) return undefined;
      // After the agent's writes that have not settled yet (group commit defers them a turn).
      const writes = batches?.settled(agentId);
      if (writes) await writes;
      const value = pg ? (await db.select({ value: kv.value }).from(kv).where(byKey(agentId, key)).limit(1))[0]?.value : sqliteValue.get(db, [agentId, key, 1])?.value;
      return value === undefined ? undefined : JSON.parse(value);
    },
    async set(agentId, key, value, limits: Pick<Limits, "kvValueBytes" | "kvTotalBytes">) {
      const text = JSON.stringify(value);
      if (text === undefined) throw new Error("kv: value must be JSON-serializable");
      const size = Buffer.byteLength(text) + Buffer.byteLength(key);
      if (size > limits.kvValueBytes) throw new Error(`kv: value for ${key} is ${size} bytes, over the limit of ${limits.kvValueBytes} bytes`);
      // PostgreSQL text cannot hold U+0000 (JSON.stringify escapes it in values; a key is stored as given).
      if (unstorable(key)) throw new Error("kv: a key cannot contain U+0000 on this server (its database is PostgreSQL)");
      await write(agentId, async (t, charge) => {
        const others = (await usage.read(t, agentId)) - ((await sizeOf(t, agentId, key)) ?? 0);
        if (others + size > limits.kvTotalBytes) throw new Error(`kv: storing ${key} would use ${others + size} bytes, over this agent's limit of ${limits.kvTotalBytes} bytes`);
        const now = Date.now();
        if (pg)
          await t
            .insert(kv)
            .values({ agentId, key, value: text, size, updatedAt: now })
            .onConflictDoUpdate({ target: [kv.agentId, kv.key], set: { value: text, size, updatedAt: now } });
        else sqliteUpsert(t, [agentId, key, text, size, now]);
        charge(size);
        await usage.write(t, agentId, others + size);
      });
    },
    async delete(agentId, key) {
      if (unstorable(key)) return false;
      return write(agentId, async (t, charge) => {
        const total = await usage.read(t, agentId);
        const old = await sizeOf(t, agentId, key);
        if (old === undefined) return false;
        if (pg) await t.delete(kv).where(byKey(agentId, key));
        else sqliteDelete(t, [agentId, key]);
        charge(old);
        await usage.write(t, agentId, total - old);
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

/** An agent's kv byte total, read and moved inside the write transactions of this store. */
interface Usage {
  /** The agent's total now (this transaction's writes not counted yet). */
  read(t: Tx, agentId: string): Promise<number>;
  /** The total once this transaction commits (a rollback leaves it as it was). */
  write(t: Tx, agentId: string, total: number): Promise<void>;
}
type SumOf = (t: Tx, agentId: string) => Promise<number>;

/**
 * SQLite: one process writes, one transaction at a time (the gate); the totals live in its
 * memory. Several writes share a transaction (WriteBatches), so a total moved by one of them
 * is what the next one in the same transaction reads (`pending`), and becomes the committed
 * total only at COMMIT; `ended()` forgets what a finished transaction left pending (all of it
 * committed by then, or rolled back). A write moves its total last, after every check that
 * can refuse it, so a refused write's savepoint never leaves a pending total behind.
 */
function usageInMemory(sumOf: SumOf): Usage & { ended(): void } {
  const totals = new Map<string, number>();
  const pending = new Map<string, number>();
  return {
    async read(t, agentId) {
      let used = pending.get(agentId) ?? totals.get(agentId);
      if (used === undefined) totals.set(agentId, (used = await sumOf(t, agentId)));
      return used;
    },
    async write(t, agentId, total) {
      pending.set(agentId, total);
      t.onCommit(() => totals.set(agentId, total));
    },
    ended() {
      pending.clear();
    },
  };
}

/** PostgreSQL: every node writes; the total is the agent's `kv_usage` row, under the agent's kv lock. */
function usageRow(sumOf: SumOf): Usage {
  return {
    async read(t, agentId) {
      await t.lock(`kv:${agentId}`);
      // kv_usage is PostgreSQL-only (schema.pg.ts), so the statements are written out here.
      const row = await queryRow<{ bytes: string | number }>(t, sql`SELECT bytes FROM kv_usage WHERE agent_id = ${agentId}`);
      return row ? Number(row.bytes) : sumOf(t, agentId);
    },
    async write(t, agentId, total) {
      await execute(t, sql`INSERT INTO kv_usage (agent_id, bytes) VALUES (${agentId}, ${total}) ON CONFLICT (agent_id) DO UPDATE SET bytes = excluded.bytes`);
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
  if (dialect() === "postgres")
    // No rowid there (ctid is the row's address). The agent's usage row goes too, under its
    // kv lock: a write after an interrupted delete counts the rows left afresh.
    return db.tx(async (t) => {
      await t.lock(`kv:${agentId}`);
      await execute(t, sql`DELETE FROM kv_usage WHERE agent_id = ${agentId}`);
      return execute(t, sql`DELETE FROM kv WHERE ctid IN (SELECT ctid FROM kv WHERE agent_id = ${agentId} LIMIT ${limit})`);
    });
  return db.tx((t) => execute(t, sql`DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE agent_id = ${agentId} LIMIT ${limit})`));
}
