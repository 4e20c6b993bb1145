/**
 * The whole data model in one Drizzle schema (SQLite dialect; `schema.pg.ts` is its PostgreSQL twin and `schema.ts` hands out the one the process runs on). Every resource hangs off a
 * workspace; ids are prefixed, time-sortable strings (see src/lib/ids.ts) so cursor
 * pagination can order by id. Timestamps are epoch milliseconds. JSON columns hold values
 * whose shape belongs to one module (specs, reports, limits) and is validated there.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
// Type-only imports: each JSON column's shape is owned (and validated) by one module.
import type { AgentFailure, AgentStatus } from "../agents/lifecycle";
import type { Ask } from "../builder/intake";
import type { HistoryEntry } from "../builder/conversations";
import type { Spec } from "../generate/spec";
import type { ValidationReport } from "../generate/validate";
import type { JobFailure } from "../jobs/types";
import type { JobFailureCode } from "../jobs/failure-codes";
import type { BackendDescription, Limits } from "../runtime/types";

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: integer("created_at").notNull().default(now),
});

export const platformTokens = sqliteTable(
  "platform_tokens",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    prefix: text("prefix").notNull(),
    lastFour: text("last_four").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("platform_tokens_hash").on(t.tokenHash)],
);

export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    /** The lifecycle state; written only through src/agents/lifecycle.ts. */
    status: text("status").$type<AgentStatus>().notNull(),
    prompt: text("prompt"),
    model: text("model"),
    region: text("region").notNull().default("auto"),
    /** Public agents answer /apps/{slug} without an agent key. */
    public: integer("public", { mode: "boolean" }).notNull().default(false),
    engine: text("engine").notNull().default("quickjs"),
    /** Newest version number built for this agent (null before the first build). */
    latestVersion: integer("latest_version"),
    /** Version number that serves traffic (null when not deployed). */
    liveVersion: integer("live_version"),
    /** Per-agent overrides of the sandbox limits: Partial<Limits>. */
    limits: text("limits", { mode: "json" }).$type<Partial<Limits>>(),
    /** Hosts the backend may reach through ctx.fetch. */
    allowedHosts: text("allowed_hosts", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** Environment values from /api/v1/builders `env` (plain, non-secret). */
    env: text("env", { mode: "json" }).$type<Record<string, string>>(),
    failure: text("failure", { mode: "json" }).$type<AgentFailure>(),
    /** Builders (/api/v1/builders): always_on | one_time, and the service key shown in the builder object. */
    jobType: text("job_type"),
    serviceKeyId: text("service_key_id"),
    /** The service key, encrypted with the master key (the builder API returns it on every read). */
    serviceKeyCipher: text("service_key_cipher"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("agents_slug").on(t.slug), index("agents_workspace").on(t.workspaceId, t.id)],
);

export const versions = sqliteTable(
  "versions",
  {
    id: text("id").primaryKey(),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    /** upload | generate | rebuild | repair */
    origin: text("origin").notNull(),
    files: text("files", { mode: "json" }).$type<Record<string, string>>().notNull(),
    entrypoint: text("entrypoint").notNull(),
    bundle: text("bundle"),
    hash: text("hash"),
    /** The backend's describe(): routes and schemas. */
    described: text("described", { mode: "json" }).$type<BackendDescription>(),
    diagnostics: text("diagnostics", { mode: "json" }).$type<unknown[]>(),
    spec: text("spec", { mode: "json" }).$type<Spec>(),
    validation: text("validation", { mode: "json" }).$type<ValidationReport>(),
    transcript: text("transcript", { mode: "json" }).$type<unknown>(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("versions_agent_number").on(t.agentId, t.number)],
);

export const deployments = sqliteTable(
  "deployments",
  {
    id: text("id").primaryKey(),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    /** deploying | deployed | failed | superseded | stopped */
    status: text("status").notNull(),
    /** deploy | rollback | stop */
    kind: text("kind").notNull().default("deploy"),
    jobId: text("job_id"),
    error: text("error", { mode: "json" }).$type<{ code: string; message: string }>(),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("deployments_agent").on(t.agentId, t.id)],
);

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    agentId: text("agent_id"),
    kind: text("kind").notNull(),
    payload: text("payload", { mode: "json" }).$type<unknown>().notNull(),
    /** queued | running | completed | failed | cancelled */
    status: text("status").notNull(),
    progress: integer("progress").notNull().default(0),
    stage: text("stage"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(1),
    /** Earliest time the job may (re)start; backoff moves it forward. */
    runAt: integer("run_at").notNull().default(now),
    leaseOwner: text("lease_owner"),
    leaseUntil: integer("lease_until"),
    cancelRequested: integer("cancel_requested", { mode: "boolean" }).notNull().default(false),
    result: text("result", { mode: "json" }).$type<unknown>(),
    failure: text("failure", { mode: "json" }).$type<JobFailure>(),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("jobs_pick").on(t.status, t.runAt), index("jobs_agent").on(t.agentId)],
);

/** Append-only job events; the autoincrement id is the SSE event id (Last-Event-ID). */
export const jobEvents = sqliteTable(
  "job_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    /** log | progress | status */
    type: text("type").notNull(),
    level: text("level"),
    message: text("message"),
    data: text("data", { mode: "json" }).$type<unknown>(),
    at: integer("at").notNull().default(now),
  },
  (t) => [index("job_events_job").on(t.jobId, t.id)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    type: text("type").notNull().default("agent"),
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    lastFour: text("last_four").notNull(),
    /** active | revoked */
    status: text("status").notNull().default("active"),
    createdAt: integer("created_at").notNull().default(now),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash), index("api_keys_agent").on(t.agentId, t.id)],
);

export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    agentId: text("agent_id").references(() => agents.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    /** processing | gathering | awaiting_approval | deployed | failed */
    status: text("status").notNull(),
    prompt: text("prompt").notNull(),
    message: text("message"),
    /** Structured asks: {id, kind, question, options?}[] */
    asks: text("asks", { mode: "json" }).$type<Ask[]>().notNull().default(sql`'[]'`),
    /** Turn history: {role, message, at}[] and change records. */
    history: text("history", { mode: "json" }).$type<HistoryEntry[]>().notNull().default(sql`'[]'`),
    /** Facts gathered so far (answers mapped to asks). */
    facts: text("facts", { mode: "json" }).$type<Record<string, string>>().notNull().default(sql`'{}'`),
    spec: text("spec", { mode: "json" }).$type<Spec>(),
    rounds: integer("rounds").notNull().default(0),
    skipApproval: integer("skip_approval", { mode: "boolean" }).notNull().default(false),
    skipReview: integer("skip_review", { mode: "boolean" }).notNull().default(false),
    reviewPassed: integer("review_passed", { mode: "boolean" }),
    qaPassed: integer("qa_passed", { mode: "boolean" }),
    jobId: text("job_id"),
    failure: text("failure", { mode: "json" }).$type<{ code: JobFailureCode; message: string }>(),
    /** When the error-rate monitor last queued a self-heal for this app (epoch ms; the cooldown, shared by every node). */
    lastHealAt: integer("last_heal_at"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("conversations_workspace").on(t.workspaceId, t.id)],
);

/** Credentials (secrets): values encrypted at rest with AES-256-GCM. */
export const secrets = sqliteTable(
  "secrets",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Hosts this credential may be sent to. */
    hosts: text("hosts", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    ciphertext: text("ciphertext").notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("secrets_workspace_name").on(t.workspaceId, t.name)],
);

/** A grant of a named credential to an agent, for named hosts. */
export const agentSecrets = sqliteTable(
  "agent_secrets",
  {
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    secretId: text("secret_id").notNull().references(() => secrets.id, { onDelete: "cascade" }),
    /** The name the backend uses in ctx.secrets / header templates. */
    alias: text("alias").notNull(),
    hosts: text("hosts", { mode: "json" }).$type<string[]>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.alias] })],
);

export const kv = sqliteTable(
  "kv",
  {
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
    size: integer("size").notNull(),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.key] })],
);

export const invocations = sqliteTable(
  "invocations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    version: integer("version"),
    keyId: text("key_id"),
    /** invoke | app | scheduled | qa */
    source: text("source").notNull().default("invoke"),
    method: text("method"),
    path: text("path"),
    status: integer("status").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    errorCode: text("error_code"),
    requestId: text("request_id"),
    at: integer("at").notNull(),
  },
  (t) => [index("invocations_agent").on(t.agentId, t.id), index("invocations_agent_at").on(t.agentId, t.at)],
);

/** Console lines from guest code (capped per call), for logs endpoints. */
export const agentLogs = sqliteTable(
  "agent_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    invocationRequestId: text("invocation_request_id"),
    level: text("level").notNull(),
    message: text("message").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("agent_logs_agent").on(t.agentId, t.id)],
);

export const schedules = sqliteTable("schedules", {
  agentId: text("agent_id")
    .primaryKey()
    .references(() => agents.id, { onDelete: "cascade" }),
  cron: text("cron").notNull(),
  /** always_on | one_time */
  mode: text("mode").notNull().default("always_on"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  /** IANA time zone the cron expression is read in (e.g. "Europe/Berlin"). */
  timezone: text("timezone").notNull().default("UTC"),
  nextRunAt: integer("next_run_at"),
  lastRunAt: integer("last_run_at"),
  createdAt: integer("created_at").notNull().default(now),
});
