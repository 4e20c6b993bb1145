/**
 * The invocation log's three INSERTs (one row, ROWS_PER_INSERT rows, one console line),
 * each prepared once: drizzle's prepared statements on PostgreSQL; on SQLite the same
 * statements, compiled by drizzle once, run straight on the driver with positional values
 * (db/raw.ts positionalWrite; issue 15: drizzle's placeholder filling was about two thirds
 * of the per-row cost). Both write the same values in every column.
 */
import { sql } from "drizzle-orm";
import { positionalWrite, preparedWrite, type Tx } from "../db";
import { agentLogs, dialect, invocations } from "../db/schema";

export type InvocationInsert = typeof invocations.$inferInsert;
export type LogInsert = typeof agentLogs.$inferInsert;

/** One invocation row (every column named, so the statement's parameters never change shape). */
const insertRowQuery = (t: Tx) => {
  const p = (name: keyof InvocationInsert) => sql.placeholder(name);
  return t
    .insert(invocations)
    .values({ agentId: p("agentId"), version: p("version"), keyId: p("keyId"), source: p("source"), method: p("method"), path: p("path"), status: p("status"), latencyMs: p("latencyMs"), errorCode: p("errorCode"), requestId: p("requestId"), at: p("at") });
};
const insertRow = preparedWrite((t) => insertRowQuery(t).prepare());

/** Rows one multi-row INSERT writes (its statement is prepared once, like the one-row one). */
export const ROWS_PER_INSERT = 32;

const ROW_COLUMNS = ["agentId", "version", "keyId", "source", "method", "path", "status", "latencyMs", "errorCode", "requestId", "at"] as const;
/** The placeholder names of row i of the multi-row insert, by column: `agentId0`, `version0`, …. */
const rowNames = Array.from({ length: ROWS_PER_INSERT }, (_, i) => ROW_COLUMNS.map((c) => `${c}${i}`));

/** ROWS_PER_INSERT invocation rows in one statement. */
const insertRowsQuery = (t: Tx) => {
  const row = (names: string[]) => {
    const p = (k: number) => sql.placeholder(names[k]!);
    return { agentId: p(0), version: p(1), keyId: p(2), source: p(3), method: p(4), path: p(5), status: p(6), latencyMs: p(7), errorCode: p(8), requestId: p(9), at: p(10) };
  };
  return t.insert(invocations).values(rowNames.map(row));
};
const insertRows = preparedWrite((t) => insertRowsQuery(t).prepare());

/** One console line. */
const insertLogQuery = (t: Tx) => {
  const p = (name: keyof LogInsert) => sql.placeholder(name);
  return t.insert(agentLogs).values({ agentId: p("agentId"), invocationRequestId: p("invocationRequestId"), level: p("level"), message: p("message"), at: p("at") });
};
const insertLog = preparedWrite((t) => insertLogQuery(t).prepare());
/**
 * PostgreSQL text cannot hold U+0000 (SQLSTATE 22021, the row would be dropped): there a NUL
 * a guest logged is stored as U+FFFD. SQLite keeps the line as written.
 */
const storableText = (s: string) => (dialect() === "postgres" && s.includes("\u0000") ? s.replaceAll("\u0000", "\uFFFD") : s);

type Value = string | number | null;

/** Row `r`'s values at `out[at…at + 11)`, in ROW_COLUMNS order: the one place a row becomes its columns' values. */
function putRow(out: Value[], at: number, r: InvocationInsert): void {
  out[at] = r.agentId;
  out[at + 1] = r.version ?? null;
  out[at + 2] = r.keyId ?? null;
  out[at + 3] = r.source ?? "invoke";
  out[at + 4] = r.method ?? null;
  out[at + 5] = r.path ?? null;
  out[at + 6] = r.status;
  out[at + 7] = r.latencyMs;
  out[at + 8] = r.errorCode ?? null;
  out[at + 9] = r.requestId ?? null;
  out[at + 10] = r.at;
}

const LOG_COLUMNS = ["agentId", "invocationRequestId", "level", "message", "at"] as const;
/** A console line's values in LOG_COLUMNS order. */
const logRow = (l: LogInsert): Value[] => [l.agentId, l.invocationRequestId ?? null, l.level, storableText(l.message), l.at];

/** `values` named by `names` (position k → names[k]): the parameters of a drizzle prepared statement. */
function named(names: readonly string[], values: Value[]): Record<string, Value> {
  const v: Record<string, Value> = {};
  for (let k = 0; k < names.length; k++) v[names[k]!] = values[k]!;
  return v;
}

/*
 * SQLite: the same three statements run straight on the driver with positional values
 * (raw.ts positionalWrite; issue 15: drizzle's placeholder filling cost ~2 µs per row of the
 * 32-row insert). PostgreSQL keeps the drizzle statements above, given the same values by name.
 */
const rowsNames = rowNames.flat();
const sqliteRow = positionalWrite((t) => insertRowQuery(t), ROW_COLUMNS);
const sqliteRows = positionalWrite((t) => insertRowsQuery(t), rowsNames);
const sqliteLog = positionalWrite((t) => insertLogQuery(t), LOG_COLUMNS);
/** The values of the 32-row insert, reused from statement to statement (each runs synchronously on SQLite, or takes its named copy on PostgreSQL). */
const rowsBuffer: Value[] = new Array(ROWS_PER_INSERT * ROW_COLUMNS.length).fill(null);

/** rows[from, from + ROWS_PER_INSERT) into rowsBuffer. */
function fillRows(rows: InvocationInsert[], from: number): Value[] {
  for (let i = 0; i < ROWS_PER_INSERT; i++) putRow(rowsBuffer, i * ROW_COLUMNS.length, rows[from + i]!);
  return rowsBuffer;
}

/** One row's values. */
function oneRow(r: InvocationInsert): Value[] {
  const v: Value[] = new Array(ROW_COLUMNS.length);
  putRow(v, 0, r);
  return v;
}

/** The statements a flush writes through: drizzle's prepared ones on PostgreSQL, positional ones on SQLite. */
export interface Statements {
  /** ROWS_PER_INSERT rows from rows[from]. */
  rows(rows: InvocationInsert[], from: number): Promise<void> | void;
  row(r: InvocationInsert): Promise<void> | void;
  log(l: LogInsert): Promise<void> | void;
}

export function statementsOf(tx: Tx): Statements {
  if (dialect() === "postgres")
    return {
      rows: (rows, from) => insertRows(tx, named(rowsNames, fillRows(rows, from))),
      row: (r) => insertRow(tx, named(ROW_COLUMNS, oneRow(r))),
      log: (l) => insertLog(tx, named(LOG_COLUMNS, logRow(l))),
    };
  return {
    rows: (rows, from) => void sqliteRows(tx, fillRows(rows, from)),
    row: (r) => void sqliteRow(tx, oneRow(r)),
    log: (l) => void sqliteLog(tx, logRow(l)),
  };
}
