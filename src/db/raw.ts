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
import { Column, is, Param, Placeholder, type SQL } from "drizzle-orm";
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

/** What a drizzle query builder gives before it runs: its SQL text and parameters. */
interface Compilable {
  toSQL(): { sql: string; params: unknown[] };
}

/** The SQLite statement of a positionalWrite or positionalRead, with the position of each name in its values. */
interface Positional {
  stmt: ReturnType<Database["prepare"]>;
  /** order[i]: the index in `values` of the statement's i-th `?`; null when they are in the same order. */
  order: number[] | null;
}

/**
 * Compiles `query` once on connection `conn` with its parameters mapped to `names`: every
 * parameter must be a `sql.placeholder` listed in `names`, bound as given (a column whose
 * driver mapping is not the identity is refused), and every name must be used once.
 */
function positional(conn: Database, query: Compilable, names: readonly string[]): Positional {
  const q = query.toSQL();
  const order = q.params.map((p, i) => {
    // drizzle fills a bare placeholder as given, and one bound to a column through the column's mapping.
    let placeholder: Placeholder;
    if (is(p, Placeholder)) placeholder = p;
    else if (is(p, Param) && is(p.value, Placeholder)) {
      placeholder = p.value;
      if (p.encoder && (p.encoder as { mapToDriverValue: unknown }).mapToDriverValue !== Column.prototype.mapToDriverValue) throw new Error(`positional statement: column ${(p.encoder as Column).name} maps its values; bind it through drizzle`);
    } else throw new Error(`positional statement: parameter ${i} of "${q.sql}" is not a placeholder`);
    const at = names.indexOf(placeholder.name);
    if (at === -1) throw new Error(`positional statement: placeholder ${placeholder.name} is not in names`);
    return at;
  });
  if (order.length !== names.length) throw new Error(`positional statement: ${names.length} names for ${order.length} parameters`);
  const inOrder = order.every((at, i) => at === i);
  return { stmt: conn.prepare(q.sql), order: inOrder ? null : order };
}

/** `values` in the order of the statement's parameters. */
const bound = (p: Positional, values: SQLQueryBindings[]) => (p.order ? p.order.map((at) => values[at]!) : values);

/** The SQLite connection behind a drizzle handle (the reader, or the writer inside a transaction). */
const clientOf = (db: DbOrTx | Tx) => (db as unknown as { $client: Database }).$client;

/**
 * A write statement prepared once on the SQLite writer and run synchronously on the driver
 * with positional values, skipping drizzle's per-call placeholder filling (issue 15: the
 * invocation log's 32-row insert spent ~3 µs per row there, ~1 µs straight on bun:sqlite).
 * `build` makes the statement from the transaction handle with a `sql.placeholder` for every
 * value; `names` lists those placeholders in the order the caller passes values. Only
 * columns whose driver mapping is the identity (plain text and integer) may be bound: the
 * values reach SQLite as given, as drizzle would send them, and a column with a mapping
 * (JSON, timestamp, boolean modes) is refused when the statement is prepared. SQLite only
 * (it throws on PostgreSQL, where the caller keeps drizzle's path: check schema.ts
 * `dialect()`). Must be called inside a write transaction (`db.tx`), whose handle is `t`.
 * Returns the rows it changed.
 */
export function positionalWrite(build: (t: Tx) => Compilable, names: readonly string[]): (t: Tx, values: SQLQueryBindings[]) => number {
  const byConnection = new WeakMap<object, Positional>();
  return (t, values) => {
    const conn = clientOf(t);
    let p = byConnection.get(conn);
    if (!p) {
      if (dialect() === "postgres") throw new Error("positionalWrite runs on SQLite only");
      byConnection.set(conn, (p = positional(conn, build(t), names)));
    }
    return p.stmt.run(...bound(p, values)).changes;
  };
}

/**
 * A read statement prepared once per SQLite connection (the reader, or the writer inside a
 * transaction) and run synchronously on the driver with positional values: what
 * positionalWrite is for writes (issue 15: drizzle building a kv point lookup's query cost
 * ~30 µs of the main thread per call, the statement itself ~3 µs). `build` makes the query
 * from the handle, every value a `sql.placeholder` listed in `names` (the order the caller
 * passes values); the same binding rules apply. Rows come back as objects keyed by the
 * selected column names, without drizzle's result mapping, so select only plain text and
 * integer columns. SQLite only (it throws on PostgreSQL).
 */
export function positionalRead<Row>(build: (db: DbOrTx) => Compilable, names: readonly string[]): { get(db: DbOrTx, values: SQLQueryBindings[]): Row | undefined; all(db: DbOrTx, values: SQLQueryBindings[]): Row[] } {
  const byConnection = new WeakMap<object, Positional>();
  const statementOn = (db: DbOrTx): Positional => {
    const conn = clientOf(db);
    let p = byConnection.get(conn);
    if (!p) {
      if (dialect() === "postgres") throw new Error("positionalRead runs on SQLite only");
      byConnection.set(conn, (p = positional(conn, build(db), names)));
    }
    return p;
  };
  return {
    get(db, values) {
      const p = statementOn(db);
      return (p.stmt.get(...bound(p, values)) as Row | null) ?? undefined;
    },
    all(db, values) {
      const p = statementOn(db);
      return p.stmt.all(...bound(p, values)) as Row[];
    },
  };
}
