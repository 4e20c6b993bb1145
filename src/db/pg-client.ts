/**
 * The PostgreSQL data layer (cluster mode: `CANTRIP_DATABASE_URL=postgres://…`): the same
 * `Db` every module uses on SQLite (client.ts), over a Bun.SQL pool (pg-driver.ts).
 *
 * - Reads outside a transaction run on the pool and see committed rows (READ COMMITTED).
 * - `tx(fn)` runs `fn` in a transaction of its own connection (drizzle's `transaction`, i.e.
 *   Bun.SQL `begin`); a `tx()` inside an open one joins it through a SAVEPOINT, as on SQLite.
 *   Unlike SQLite's write gate, transactions of one process (and of every node) run
 *   concurrently: where a write depends on what the transaction read (check-then-insert,
 *   a quota), the code takes `t.lock(name)`, a transaction-scoped advisory lock, which is a
 *   no-op on SQLite where the gate already serialises every writer.
 * - `t.publish(topic, payload)` is queued in the transaction as a NOTIFY on the bus channel
 *   (pg-bus.ts), sent just before COMMIT so PostgreSQL delivers it to every node on commit
 *   and drops it on rollback; this node also delivers it to its own subscribers after
 *   COMMIT, before `tx()` resolves (so a key revoked here is refused here before the revoke
 *   call returns), and ignores its own notification when it arrives.
 * - `onCommit` hooks run after COMMIT, before `tx()` resolves; a rollback (of the
 *   transaction or of a joined savepoint) drops those registered inside it.
 *
 * Migrations run under a session advisory lock (pg-driver.ts `migratePostgres`), so nodes
 * starting together on an empty database apply each migration once.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db, Tx } from "./client";
import { useDialect } from "./schema";
import { runCommitHooks } from "./gate";
import { PgBus } from "./pg-bus";
import { migratePostgres, openPostgres, type PgConnection, type PgOptions } from "./pg-driver";
import type { Topic, Topics } from "./bus";

/** The bus on PostgreSQL carries cantrip's topics. */
export type ClusterBus = PgBus<Topics>;

/** An open PostgreSQL data layer. */
export interface OpenedPostgres {
  db: Db;
  /** The pool and drizzle over it, for src/db and tests. */
  pg: PgConnection;
  bus: ClusterBus;
  /** How many migrations this open applied (0 when the database was up to date). */
  migrationsApplied: number;
  close(): Promise<void>;
}

interface Open {
  open: boolean;
  hooks: (() => void)[];
  notices: { topic: string; payload: unknown }[];
}

/** What drizzle's pg transaction handle offers that this file uses. */
interface PgTxHandle {
  transaction<R>(fn: (sp: PgTxHandle) => Promise<R>): Promise<R>;
  execute(q: ReturnType<typeof sql>): Promise<unknown>;
}

/**
 * Opens the pool on `url` (a postgres:// URL, checked by pg-driver's parseDatabaseUrl),
 * applies the embedded migrations under the migration lock, starts this node's LISTEN and
 * rebinds the schema's tables to the PostgreSQL twins (schema.ts `useDialect`). Throws
 * (ConfigError for a bad URL; the driver's error when the server cannot be reached or
 * refuses the credentials) without leaving the pool open.
 */
export async function openPostgresDb(
  url: string,
  opts: PgOptions & {
    /** This node's id; the bus names this process `<nodeId>#<random>` (default node#<random>). */
    nodeId?: string;
    /** A bus subscriber threw (default: rethrown asynchronously). */
    onBusError?: (e: unknown, topic: string) => void;
    /** How often the bus checks that LISTEN still delivers (pg-bus.ts `startHeartbeat`), in ms; default 5000. */
    heartbeatMs?: number;
  } = {},
): Promise<OpenedPostgres> {
  const pg = openPostgres(url, opts);
  let bus: ClusterBus | undefined;
  try {
    const migrationsApplied = await migratePostgres(pg.client);
    useDialect("postgres");
    // The bus skips its own messages by this name, so it names this process, not the data
    // dir: two nodes started from copies of one data dir (one node-id) would otherwise skip
    // each other's messages and never hear of a revoke or a deploy.
    const busId = `${opts.nodeId ?? "node"}#${randomBytes(6).toString("hex")}`;
    bus = new PgBus(pg, { nodeId: busId, ignoreOwn: true, onError: opts.onBusError });
    await bus.start();
    bus.startHeartbeat(opts.heartbeatMs ?? 5000);
    const cluster = bus;
    const handle = (t: PgTxHandle, state: Open): Tx =>
      Object.assign(Object.create(t) as Tx, {
        onCommit: (fn: () => void) => void state.hooks.push(fn),
        publish: <K extends Topic>(topic: K, payload: Topics[K]) => {
          state.notices.push({ topic, payload });
          state.hooks.push(() => cluster.deliver(topic, payload));
        },
        lock: async (name: string) => void (await t.execute(sql`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`)),
      });

    const nested = async <R>(outer: { t: PgTxHandle; state: Open }, fn: (t: Tx) => Promise<R> | R): Promise<R> => {
      const { state } = outer;
      const marks = [state.hooks.length, state.notices.length] as const;
      try {
        return await outer.t.transaction((sp) => withHandle(sp, state, fn));
      } catch (e) {
        state.hooks.length = marks[0];
        state.notices.length = marks[1];
        throw e;
      }
    };

    const current = new AsyncLocalStorage<{ t: PgTxHandle; state: Open }>();
    const withHandle = <R>(t: PgTxHandle, state: Open, fn: (t: Tx) => Promise<R> | R): Promise<R> =>
      current.run({ t, state }, async () => fn(handle(t, state)));

    const tx = async <R>(fn: (t: Tx) => Promise<R> | R): Promise<R> => {
      const outer = current.getStore();
      if (outer?.state.open) return nested(outer, fn);
      const state: Open = { open: true, hooks: [], notices: [] };
      let result: R;
      try {
        result = await (pg.db as unknown as PgTxHandle).transaction(async (t) => {
          const r = await withHandle(t, state, fn);
          // Queued last, so a publish from anywhere in the transaction goes out with its commit.
          for (const n of state.notices) await cluster.publish(t as never, n.topic as never, n.payload as never);
          return r;
        });
      } finally {
        state.open = false;
      }
      runCommitHooks(state.hooks);
      return result;
    };
    const db = Object.assign(Object.create(pg.db) as Db, { tx, bus: cluster, resync: () => cluster.resync() });
    let closed = false;
    return {
      db,
      pg,
      bus: cluster,
      migrationsApplied,
      close: async () => {
        if (closed) return;
        closed = true;
        await cluster.stop().catch(() => {});
        await pg.close();
      },
    };
  } catch (e) {
    await bus?.stop().catch(() => {});
    await pg.close(0).catch(() => {});
    throw e;
  }
}
