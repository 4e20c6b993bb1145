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
const rowValues = (r: InvocationInsert) => ({ agentId: r.agentId, version: r.version ?? null, keyId: r.keyId ?? null, source: r.source ?? "invoke", method: r.method ?? null, path: r.path ?? null, status: r.status, latencyMs: r.latencyMs, errorCode: r.errorCode ?? null, requestId: r.requestId ?? null, at: r.at });

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

/** The parameters of insertRows for rows[from, from + ROWS_PER_INSERT). */
function rowsValues(rows: InvocationInsert[], from: number): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  for (let i = 0; i < ROWS_PER_INSERT; i++) {
    // The same values as rowValues(), without an object per row (ROW_COLUMNS order).
    const r = rows[from + i]!;
    const n = rowNames[i]!;
    v[n[0]!] = r.agentId;
    v[n[1]!] = r.version ?? null;
    v[n[2]!] = r.keyId ?? null;
    v[n[3]!] = r.source ?? "invoke";
    v[n[4]!] = r.method ?? null;
    v[n[5]!] = r.path ?? null;
    v[n[6]!] = r.status;
    v[n[7]!] = r.latencyMs;
    v[n[8]!] = r.errorCode ?? null;
    v[n[9]!] = r.requestId ?? null;
    v[n[10]!] = r.at;
  }
  return v;
}

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
const logValues = (l: LogInsert) => ({ agentId: l.agentId, invocationRequestId: l.invocationRequestId ?? null, level: l.level, message: storableText(l.message), at: l.at });

/*
 * SQLite: the same three statements run straight on the driver with positional values
 * (raw.ts positionalWrite; issue 15: drizzle's placeholder filling cost ~2 µs per row of the
 * 32-row insert). Each row's values are the ones rowValues()/logValues() give, in
 * ROW_COLUMNS / LOG_COLUMNS order. PostgreSQL keeps the drizzle statements above.
 */
const LOG_COLUMNS = ["agentId", "invocationRequestId", "level", "message", "at"] as const;
const sqliteRow = positionalWrite((t) => insertRowQuery(t), ROW_COLUMNS);
const sqliteRows = positionalWrite((t) => insertRowsQuery(t), rowNames.flat());
const sqliteLog = positionalWrite((t) => insertLogQuery(t), LOG_COLUMNS);
/** The positional values of insertRows, reused from flush to flush (the statement runs synchronously). */
const rowsBuffer: (string | number | null)[] = new Array(ROWS_PER_INSERT * ROW_COLUMNS.length).fill(null);

/** Writes row `r`'s values at `out[at…at + 11)` (ROW_COLUMNS order, the values of rowValues()). */
function putRow(out: (string | number | null)[], at: number, r: InvocationInsert): void {
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

/** The statements a flush writes through: drizzle's prepared ones on PostgreSQL, positional ones on SQLite. */
export interface Statements {
  /** ROWS_PER_INSERT rows from rows[from]. */
  rows(rows: InvocationInsert[], from: number): Promise<void> | void;
  row(r: InvocationInsert): Promise<void> | void;
  log(l: LogInsert): Promise<void> | void;
}

export function statementsOf(tx: Tx): Statements {
  if (dialect() === "postgres") return { rows: (rows, from) => insertRows(tx, rowsValues(rows, from)), row: (r) => insertRow(tx, rowValues(r)), log: (l) => insertLog(tx, logValues(l)) };
  return {
    rows: (rows, from) => {
      for (let i = 0; i < ROWS_PER_INSERT; i++) putRow(rowsBuffer, i * ROW_COLUMNS.length, rows[from + i]!);
      sqliteRows(tx, rowsBuffer);
    },
    row: (r) => {
      const v: (string | number | null)[] = new Array(ROW_COLUMNS.length);
      putRow(v, 0, r);
      sqliteRow(tx, v);
    },
    log: (l) => sqliteLog(tx, [l.agentId, l.invocationRequestId ?? null, l.level, l.message, l.at]),
  };
}
