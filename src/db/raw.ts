/**
 * Raw SQL for the few statements the query builder does not express (PRAGMAs, batched
 * deletes by rowid, window functions over a bounded scan). Callers build the statement with
 * drizzle's `sql` template (parameters bound, never spliced) and run it here, asynchronously,
 * on the reader (`queryRows`, `queryRow`) or inside a write transaction (`execute`). On
 * PostgreSQL the same calls run through drizzle's `execute` (the SQL itself must then be
 * valid on both dialects, or the caller branches on schema.ts `dialect()`). Rows come back as objects keyed by
 * column name (drizzle's own raw `all/get` answer arrays of values on bun-sqlite).
 */
import type { Database, SQLQueryBindings } from "bun:sqlite";
import type { SQL } from "drizzle-orm";
import type { DbOrTx, Tx } from "./client";
import { dialect } from "./schema";

/** On PostgreSQL, drizzle's own `execute` runs raw SQL (Bun.SQL answers rows as objects, with a `count`). */
const pgExecute = (db: DbOrTx | Tx, query: SQL) =>
  (db as unknown as { execute(q: SQL): Promise<Record<string, unknown>[] & { count?: number }> }).execute(query);

/** The connection and dialect behind a drizzle handle (the read one, or the writer inside a transaction). */
function statement(db: DbOrTx | Tx, query: SQL) {
  const inner = db as unknown as { dialect: { sqlToQuery(q: SQL): { sql: string; params: unknown[] } }; $client: Database };
  const q = inner.dialect.sqlToQuery(query);
  return { stmt: inner.$client.query(q.sql), params: q.params as SQLQueryBindings[] };
}

/** Rows of a read statement, as objects keyed by column name. */
export async function queryRows<T>(db: DbOrTx, query: SQL): Promise<T[]> {
  if (dialect() === "postgres") return [...(await pgExecute(db, query))] as T[];
  const { stmt, params } = statement(db, query);
  return stmt.all(...params) as T[];
}

/** The first row of a read statement, or undefined. */
export async function queryRow<T>(db: DbOrTx, query: SQL): Promise<T | undefined> {
  if (dialect() === "postgres") return (await pgExecute(db, query))[0] as T | undefined;
  const { stmt, params } = statement(db, query);
  return (stmt.get(...params) as T | null) ?? undefined;
}

/** Runs a write statement inside the transaction; returns the rows it changed. */
export async function execute(t: Tx, query: SQL): Promise<number> {
  if (dialect() === "postgres") return (await pgExecute(t, query)).count ?? 0;
  const { stmt, params } = statement(t, query);
  return stmt.run(...params).changes;
}

/** What drizzle's `.prepare()` gives: a statement run with placeholder values. */
interface Prepared<V> {
  execute(values: V): PromiseLike<unknown>;
}

/**
 * A write statement prepared once per connection and run many times inside write
 * transactions (the invocation log's one-row inserts, issue 15: preparing on every flush cost
 * 2–3× per row). `build` makes it from the transaction handle with `sql.placeholder`s; the
 * returned function runs it inside the given transaction. Preparing is the driver's business,
 * so it happens here: statements are cached per connection, which on SQLite is the one writer.
 */
export function preparedWrite<V>(build: (t: Tx) => Prepared<V>): (t: Tx, values: V) => Promise<void> {
  const byConnection = new WeakMap<object, Prepared<V>>();
  return async (t, values) => {
    // PostgreSQL: a prepared query is bound to the transaction's connection, which is gone
    // after it; Bun.SQL prepares each statement text once per connection by itself.
    if (dialect() === "postgres") return void (await build(t).execute(values));
    const conn = (t as unknown as { $client: object }).$client;
    let p = byConnection.get(conn);
    if (!p) byConnection.set(conn, (p = build(t)));
    await p.execute(values);
  };
}
