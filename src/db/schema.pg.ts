/**
 * The PostgreSQL twin of `schema.sqlite.ts`, for cluster mode (several nodes on one database; see
 * docs/ARCHITECTURE.md "PostgreSQL (in progress)"). `schema.sqlite.ts` stays the source of the row
 * types: every table here has the same name, columns, SQL names, nullability, defaults,
 * keys and indexes, and the same inferred select/insert types, which
 * test/db/schema-parity.test.ts checks at compile time and at run time. The mapping:
 * epoch-millisecond `integer` → `bigint` (read as a JS number), `integer({ mode: "boolean" })`
 * → `boolean`, autoincrement ids → `bigserial`, JSON → `jsonText` (JSON kept in a `text`
 * column, as on SQLite: drizzle-orm 0.45.4's bun-sql driver stores `jsonb` values
 * double-encoded as JSON strings), and the `now` default → the statement's start time in ms.
 * Migrations: `drizzle.pg.config.ts` → `src/db/migrations-pg/` (`bun run db:generate`).
 */
import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, customType, index, integer, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
// Type-only imports: each JSON column's shape is owned (and validated) by one module.
import type { AgentFailure, AgentStatus } from "../agents/lifecycle";
import type { Ask } from "../builder/intake";
import type { HistoryEntry } from "../builder/conversations";
import type { Spec } from "../generate/spec";
import type { ValidationReport } from "../generate/validate";
import type { JobFailure } from "../jobs/types";
import type { JobFailureCode } from "../jobs/failure-codes";
import type { BackendDescription, Limits } from "../runtime/types";

/**
 * A JSON value stored as text (the SQLite schema's `text({ mode: "json" })`): written with
 * JSON.stringify, read with JSON.parse; give the value's type with `.$type<T>()`.
 */
export const jsonText = customType<{ data: unknown; driverData: string }>({
  dataType: () => "text",
  toDriver: (value) => JSON.stringify(value),
  fromDriver: (value) => JSON.parse(value),
});

/** Epoch milliseconds: past 2^31 since 1970-01-25, so `bigint`, read as a JS number (exact below 2^53). */
const epochMs = (name: string) => bigint(name, { mode: "number" });

/** The time the statement started, in epoch ms, truncated like SQLite's `cast(… as integer)`. */
const now = sql`((floor(extract(epoch from statement_timestamp()) * 1000))::bigint)`;

export const workspaces = pgTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: epochMs("created_at").notNull().default(now),
});

export const platformTokens = pgTable(
  "platform_tokens",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    prefix: text("prefix").notNull(),
    lastFour: text("last_four").notNull(),
    createdAt: epochMs("created_at").notNull().default(now),
    lastUsedAt: epochMs("last_used_at"),
    revokedAt: epochMs("revoked_at"),
  },
  (t) => [uniqueIndex("platform_tokens_hash").on(t.tokenHash)],
);

export const agents = pgTable(
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
    public: boolean("public").notNull().default(false),
    engine: text("engine").notNull().default("quickjs"),
    /** Newest version number built for this agent (null before the first build). */
    latestVersion: integer("latest_version"),
    /** Version number that serves traffic (null when not deployed). */
    liveVersion: integer("live_version"),
    /** Per-agent overrides of the sandbox limits: Partial<Limits>. */
    limits: jsonText("limits").$type<Partial<Limits>>(),
    /** Hosts the backend may reach through ctx.fetch. */
    allowedHosts: jsonText("allowed_hosts").$type<string[]>().notNull().default(sql`'[]'`),
    /** Environment values from /api/v1/builders `env` (plain, non-secret). */
    env: jsonText("env").$type<Record<string, string>>(),
    failure: jsonText("failure").$type<AgentFailure>(),
    /** Builders (/api/v1/builders): always_on | one_time, and the service key shown in the builder object. */
    jobType: text("job_type"),
    serviceKeyId: text("service_key_id"),
    /** The service key, encrypted with the master key (the builder API returns it on every read). */
    serviceKeyCipher: text("service_key_cipher"),
    createdAt: epochMs("created_at").notNull().default(now),
    updatedAt: epochMs("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("agents_slug").on(t.slug), index("agents_workspace").on(t.workspaceId, t.id)],
);

export const versions = pgTable(
  "versions",
  {
    id: text("id").primaryKey(),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    /** upload | generate | rebuild | repair */
    origin: text("origin").notNull(),
    files: jsonText("files").$type<Record<string, string>>().notNull(),
    entrypoint: text("entrypoint").notNull(),
    bundle: text("bundle"),
    hash: text("hash"),
    /** The backend's describe(): routes and schemas. */
    described: jsonText("described").$type<BackendDescription>(),
    diagnostics: jsonText("diagnostics").$type<unknown[]>(),
    spec: jsonText("spec").$type<Spec>(),
    validation: jsonText("validation").$type<ValidationReport>(),
    transcript: jsonText("transcript").$type<unknown>(),
    createdAt: epochMs("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("versions_agent_number").on(t.agentId, t.number)],
);

export const deployments = pgTable(
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
    error: jsonText("error").$type<{ code: string; message: string }>(),
    createdAt: epochMs("created_at").notNull().default(now),
    updatedAt: epochMs("updated_at").notNull().default(now),
  },
  (t) => [index("deployments_agent").on(t.agentId, t.id)],
);

export const jobs = pgTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    agentId: text("agent_id"),
    kind: text("kind").notNull(),
    payload: jsonText("payload").$type<unknown>().notNull(),
    /** queued | running | completed | failed | cancelled */
    status: text("status").notNull(),
    progress: integer("progress").notNull().default(0),
    stage: text("stage"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(1),
    /** Earliest time the job may (re)start; backoff moves it forward. */
    runAt: epochMs("run_at").notNull().default(now),
    leaseOwner: text("lease_owner"),
    leaseUntil: epochMs("lease_until"),
    cancelRequested: boolean("cancel_requested").notNull().default(false),
    result: jsonText("result").$type<unknown>(),
    failure: jsonText("failure").$type<JobFailure>(),
    createdAt: epochMs("created_at").notNull().default(now),
    updatedAt: epochMs("updated_at").notNull().default(now),
    startedAt: epochMs("started_at"),
    finishedAt: epochMs("finished_at"),
  },
  (t) => [index("jobs_pick").on(t.status, t.runAt), index("jobs_agent").on(t.agentId)],
);

/** Append-only job events; the autoincrement id is the SSE event id (Last-Event-ID). */
export const jobEvents = pgTable(
  "job_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: text("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    /** log | progress | status */
    type: text("type").notNull(),
    level: text("level"),
    message: text("message"),
    data: jsonText("data").$type<unknown>(),
    at: epochMs("at").notNull().default(now),
  },
  (t) => [index("job_events_job").on(t.jobId, t.id)],
);

export const apiKeys = pgTable(
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
    createdAt: epochMs("created_at").notNull().default(now),
    lastUsedAt: epochMs("last_used_at"),
    revokedAt: epochMs("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash), index("api_keys_agent").on(t.agentId, t.id)],
);

export const conversations = pgTable(
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
    asks: jsonText("asks").$type<Ask[]>().notNull().default(sql`'[]'`),
    /** Turn history: {role, message, at}[] and change records. */
    history: jsonText("history").$type<HistoryEntry[]>().notNull().default(sql`'[]'`),
    /** Facts gathered so far (answers mapped to asks). */
    facts: jsonText("facts").$type<Record<string, string>>().notNull().default(sql`'{}'`),
    spec: jsonText("spec").$type<Spec>(),
    rounds: integer("rounds").notNull().default(0),
    skipApproval: boolean("skip_approval").notNull().default(false),
    skipReview: boolean("skip_review").notNull().default(false),
    reviewPassed: boolean("review_passed"),
    qaPassed: boolean("qa_passed"),
    jobId: text("job_id"),
    failure: jsonText("failure").$type<{ code: JobFailureCode; message: string }>(),
    /** When the error-rate monitor last queued a self-heal for this app (epoch ms; the cooldown, shared by every node). */
    lastHealAt: epochMs("last_heal_at"),
    createdAt: epochMs("created_at").notNull().default(now),
    updatedAt: epochMs("updated_at").notNull().default(now),
  },
  (t) => [index("conversations_workspace").on(t.workspaceId, t.id)],
);

/** Credentials (secrets): values encrypted at rest with AES-256-GCM. */
export const secrets = pgTable(
  "secrets",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Hosts this credential may be sent to. */
    hosts: jsonText("hosts").$type<string[]>().notNull().default(sql`'[]'`),
    ciphertext: text("ciphertext").notNull(),
    createdAt: epochMs("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("secrets_workspace_name").on(t.workspaceId, t.name)],
);

/** A grant of a named credential to an agent, for named hosts. */
export const agentSecrets = pgTable(
  "agent_secrets",
  {
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    secretId: text("secret_id").notNull().references(() => secrets.id, { onDelete: "cascade" }),
    /** The name the backend uses in ctx.secrets / header templates. */
    alias: text("alias").notNull(),
    hosts: jsonText("hosts").$type<string[]>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.alias] })],
);

export const kv = pgTable(
  "kv",
  {
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
    size: integer("size").notNull(),
    updatedAt: epochMs("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.key] })],
);

export const invocations = pgTable(
  "invocations",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
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
    at: epochMs("at").notNull(),
  },
  (t) => [index("invocations_agent").on(t.agentId, t.id), index("invocations_agent_at").on(t.agentId, t.at)],
);

/** Console lines from guest code (capped per call), for logs endpoints. */
export const agentLogs = pgTable(
  "agent_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    agentId: text("agent_id").notNull().references(() => agents.id, { onDelete: "cascade" }),
    invocationRequestId: text("invocation_request_id"),
    level: text("level").notNull(),
    message: text("message").notNull(),
    at: epochMs("at").notNull(),
  },
  (t) => [index("agent_logs_agent").on(t.agentId, t.id)],
);

export const schedules = pgTable("schedules", {
  agentId: text("agent_id")
    .primaryKey()
    .references(() => agents.id, { onDelete: "cascade" }),
  cron: text("cron").notNull(),
  /** always_on | one_time */
  mode: text("mode").notNull().default("always_on"),
  enabled: boolean("enabled").notNull().default(true),
  /** IANA time zone the cron expression is read in (e.g. "Europe/Berlin"). */
  timezone: text("timezone").notNull().default("UTC"),
  nextRunAt: epochMs("next_run_at"),
  lastRunAt: epochMs("last_run_at"),
  createdAt: epochMs("created_at").notNull().default(now),
});

// ---- Tables only a cluster needs (no SQLite twin; listed in test/db/schema-parity.test.ts) ----

/** Facts every node checks at start, e.g. the fingerprint of the shared CANTRIP_SECRET_KEY (src/db/pg-cluster.ts). */
export const clusterMeta = pgTable("cluster_meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** When each cluster-wide chore last ran (`claimSingleton` in src/db/pg-cluster.ts): one row per chore. */
export const clusterSingletons = pgTable("cluster_singletons", {
  name: text("name").primaryKey(),
  at: epochMs("at").notNull(),
});

/**
 * Bytes each agent's kv rows use (key + JSON text, the sum of `kv.size`), kept by
 * src/runtime/kv-sqlite.ts under the agent's kv lock, so the per-agent kv quota is exact
 * across nodes at one primary-key read per write. A missing row means "not counted yet": the
 * next write sums the agent's rows once and stores the total. (On SQLite one process writes,
 * and the total is kept in its memory.)
 */
export const kvUsage = pgTable("kv_usage", {
  agentId: text("agent_id")
    .primaryKey()
    .references(() => agents.id, { onDelete: "cascade" }),
  bytes: bigint("bytes", { mode: "number" }).notNull(),
});
