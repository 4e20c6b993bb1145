/**
 * The tables every module queries, for the dialect this process runs on. The definitions
 * live in `schema.sqlite.ts` (SQLite, the source of the row types) and `schema.pg.ts` (its
 * PostgreSQL twin, kept identical in shape by test/db/schema-parity.test.ts). Each export
 * here is a live binding (`export let`) to the SQLite table until the data layer opens a
 * PostgreSQL database, which calls `useDialect("postgres")` and rebinds every name to the
 * twin: code written once against these names builds the right SQL on either database,
 * typed as the SQLite tables (their inferred row types are identical). One process runs one
 * dialect: opening a database points the bindings at its dialect (`useDialect`, called by
 * client.ts and pg-client.ts).
 * A table must therefore never be captured at import time (a module-level `const t =
 * agents`): read the binding when the query is built.
 */
import * as lite from "./schema.sqlite";
import * as pg from "./schema.pg";

/** The SQL dialect behind the tables: SQLite (one node, the default) or PostgreSQL (cluster mode). */
export type Dialect = "sqlite" | "postgres";

/** A PostgreSQL twin table, seen through its SQLite twin's type (identical row types). */
const asLite = <T>(t: unknown) => t as T;

export let workspaces = lite.workspaces;
export let platformTokens = lite.platformTokens;
export let agents = lite.agents;
export let versions = lite.versions;
export let deployments = lite.deployments;
export let jobs = lite.jobs;
export let jobEvents = lite.jobEvents;
export let apiKeys = lite.apiKeys;
export let conversations = lite.conversations;
export let secrets = lite.secrets;
export let agentSecrets = lite.agentSecrets;
export let kv = lite.kv;
export let invocations = lite.invocations;
export let agentLogs = lite.agentLogs;
export let schedules = lite.schedules;

let current: Dialect = "sqlite";

/** The dialect the table bindings currently point at. */
export function dialect(): Dialect {
  return current;
}

/** Rebinds every table export to `d`'s definitions (called by the data layer when it opens a database). */
export function useDialect(d: Dialect): void {
  if (d === current) return;
  const src = d === "postgres" ? pg : lite;
  workspaces = asLite(src.workspaces);
  platformTokens = asLite(src.platformTokens);
  agents = asLite(src.agents);
  versions = asLite(src.versions);
  deployments = asLite(src.deployments);
  jobs = asLite(src.jobs);
  jobEvents = asLite(src.jobEvents);
  apiKeys = asLite(src.apiKeys);
  conversations = asLite(src.conversations);
  secrets = asLite(src.secrets);
  agentSecrets = asLite(src.agentSecrets);
  kv = asLite(src.kv);
  invocations = asLite(src.invocations);
  agentLogs = asLite(src.agentLogs);
  schedules = asLite(src.schedules);
  current = d;
}
