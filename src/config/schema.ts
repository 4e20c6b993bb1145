/**
 * The one configuration schema. Each setting names its environment variable and flag;
 * `loadConfig` reads both once at start-up (flags win) and returns a typed, validated
 * object that the composition root passes down as options. Nothing else reads the env.
 */
import { Type as T, type Static } from "@sinclair/typebox";
import { limitSettings, limitSettingsSchema } from "./limit-settings";

export interface SettingSpec {
  env: string;
  flag?: string;
  kind: "string" | "int" | "bool" | "enum" | "list";
  values?: readonly string[];
  min?: number;
  max?: number;
  default?: unknown;
  doc: string;
}

/**
 * A model id as OpenAI-compatible servers accept it: OpenAI names, Ollama tags
 * (`hf.co/org/repo:Q4_K_M`), LM Studio and Hugging Face paths (`publisher/repo/file.gguf`).
 * Any printable text up to 256 characters; control characters are refused. Used by
 * CANTRIP_MODEL and by every API field that names a model, so both accept the same ids.
 */
export const MODEL_ID_MAX_LENGTH = 256;
export const ModelId = T.String({ minLength: 1, maxLength: MODEL_ID_MAX_LENGTH, pattern: "^[^\\u0000-\\u001f\\u007f]+$" });

/**
 * key → how to read it. The README's configuration tables are written by hand and kept in
 * step with this list by test/docs/config-table.test.ts (env var, flag and default per row).
 */
export const settings = {
  host: { env: "CANTRIP_HOST", flag: "host", kind: "string", default: "127.0.0.1", doc: "Address to listen on." },
  port: { env: "CANTRIP_PORT", flag: "port", kind: "int", min: 0, max: 65535, default: 7878, doc: "Port to listen on (0 = random)." },
  dataDir: { env: "CANTRIP_DATA_DIR", flag: "data-dir", kind: "string", default: "./.cantrip", doc: "Directory for the SQLite file, the admin token, keys and extracted tools." },
  publicUrl: { env: "CANTRIP_PUBLIC_URL", flag: "public-url", kind: "string", default: "", doc: "Base URL clients use to reach this server (for endpoint and preview URLs). Default: http://host:port." },
  appsPort: { env: "CANTRIP_APPS_PORT", flag: "apps-port", kind: "int", min: -1, max: 65535, default: -1, doc: "A second listener that serves only /apps/{slug}/... on its own origin, without the sandbox CSP (-1 = none, 0 = random port)." },
  appsDomain: { env: "CANTRIP_APPS_DOMAIN", flag: "apps-domain", kind: "string", default: "", doc: "Host-based app routing: a request for host {slug}.<domain> (on either listener) is that app's own origin (needs wildcard DNS). Empty = off." },
  appsPublicUrl: { env: "CANTRIP_APPS_PUBLIC_URL", flag: "apps-public-url", kind: "string", default: "", doc: "Base URL of apps in endpoint and preview URLs; may contain {slug} (https://{slug}.apps.example.com). Default: derived from the apps domain, the apps port, else the public URL." },
  logFormat: { env: "CANTRIP_LOG_FORMAT", flag: "log-format", kind: "enum", values: ["pretty", "json"], default: "pretty", doc: "Request log format." },
  logRequests: { env: "CANTRIP_LOG_REQUESTS", flag: "log-requests", kind: "bool", default: true, doc: "Write one log line per HTTP request." },
  bodyLimitBytes: { env: "CANTRIP_BODY_LIMIT", flag: "body-limit", kind: "int", min: 1024, max: 256 * 1024 * 1024, default: 1024 * 1024, doc: "Largest accepted request body in bytes." },
  openaiBaseUrl: { env: "OPENAI_BASE_URL", flag: "openai-base-url", kind: "string", default: "", doc: "OpenAI-compatible API base URL (OpenAI, Ollama http://localhost:11434/v1, vLLM, LM Studio). Empty = no model." },
  openaiApiKey: { env: "OPENAI_API_KEY", flag: "openai-api-key", kind: "string", default: "", doc: "API key for the model server (local servers accept any value)." },
  model: { env: "CANTRIP_MODEL", flag: "model", kind: "string", default: "gpt-4.1-mini", doc: "Default model id for generation (up to 256 characters: Ollama tags, LM Studio and Hugging Face paths)." },
  structuredOutput: { env: "CANTRIP_STRUCTURED_OUTPUT", flag: "structured-output", kind: "enum", values: ["auto", "json_schema", "json_object", "none"], default: "auto", doc: "How to ask the model for JSON; auto falls back when the server rejects json_schema." },
  modelTimeoutMs: { env: "CANTRIP_MODEL_TIMEOUT_MS", flag: "model-timeout-ms", kind: "int", min: 1000, max: 3_600_000, default: 120_000, doc: "Timeout of one model call." },
  maxRepairs: { env: "CANTRIP_MAX_REPAIRS", flag: "max-repairs", kind: "int", min: 0, max: 10, default: 3, doc: "Repair attempts after a failed build or validation." },
  jobConcurrency: { env: "CANTRIP_JOB_CONCURRENCY", flag: "job-concurrency", kind: "int", min: 1, max: 64, default: 4, doc: "Jobs run at once." },
  sandboxWorkers: { env: "CANTRIP_SANDBOX_WORKERS", flag: "sandbox-workers", kind: "int", min: 1, max: 64, default: 2, doc: "Sandbox worker threads (or V8 sidecars) that run calls: a quarter (at least one, from 2 up) for heavy agents, the rest for light ones; one more load worker runs load-checks." },
  sandbox: { env: "CANTRIP_SANDBOX", flag: "sandbox", kind: "enum", values: ["quickjs", "v8"], default: "quickjs", doc: "Default sandbox engine: quickjs (in-process WebAssembly) or v8 (isolated-vm in Node >= 24 sidecars); agents may override it." },
  node: { env: "CANTRIP_NODE", flag: "node", kind: "string", default: "", doc: "Node >= 24 binary for the v8 engine (default: node on PATH, then .tools/v8); isolated-vm is found through NODE_PATH." },
  sandboxAgentConcurrency: { env: "CANTRIP_SANDBOX_AGENT_CONCURRENCY", flag: "sandbox-agent-concurrency", kind: "int", min: 1, max: 1024, default: 8, doc: "Calls one agent may have running in the sandbox at once; more wait in its queue." },
  sandboxAgentQueue: { env: "CANTRIP_SANDBOX_AGENT_QUEUE", flag: "sandbox-agent-queue", kind: "int", min: 0, max: 10_000, default: 32, doc: "Calls one agent may have waiting for a turn; beyond it: 429 rate_limited with Retry-After." },
  sandboxQueueWaitMs: { env: "CANTRIP_SANDBOX_QUEUE_WAIT_MS", flag: "sandbox-queue-wait-ms", kind: "int", min: 10, max: 600_000, default: 5000, doc: "Longest a call waits for its turn (not charged to its wall limit); then 429 (its agent's own calls) or 503 sandbox_busy." },
  sandboxHeavyCpuMs: { env: "CANTRIP_SANDBOX_HEAVY_CPU_MS", flag: "sandbox-heavy-cpu-ms", kind: "int", min: 1, max: 600_000, default: 50, doc: "Recent CPU per call (ms) at which an agent's calls move to the heavy-lane workers." },
  sandboxWorkspaceSharePct: { env: "CANTRIP_SANDBOX_WORKSPACE_SHARE", flag: "sandbox-workspace-share", kind: "int", min: 1, max: 100, default: 75, doc: "Percent of each lane's call slots, of the sandbox memory budget and of the guest outbound-request slots that one workspace's calls may hold at once (at least one call) while the install has more than one workspace; the rest stays free for other workspaces. 100 turns the bound off." },
  sandboxMemoryBudgetMb: { env: "CANTRIP_SANDBOX_MEMORY_MB", flag: "sandbox-memory-mb", kind: "int", min: 16, max: 65536, default: 1024, doc: "Total sandbox memory: idle instances at their heap, busy ones at their memory limit. Idle ones are LRU-evicted to make room; past it a call waits up to 1 s, then gets 503 sandbox_memory_exhausted." },
  egressAllowPrivate: { env: "CANTRIP_EGRESS_ALLOW_PRIVATE", flag: "egress-allow-private", kind: "bool", default: false, doc: "Let backends reach loopback/private addresses (development only)." },
  egressAllowHosts: { env: "CANTRIP_EGRESS_ALLOW_HOSTS", flag: "egress-allow-hosts", kind: "list", default: [], doc: "Comma-separated operator allow-list past the address policy: host names, IP addresses or CIDR blocks (IPv4 or IPv6)." },
  workspaceMaxAgents: { env: "CANTRIP_WORKSPACE_MAX_AGENTS", flag: "workspace-max-agents", kind: "int", min: 1, max: 1_000_000, default: 200, doc: "Agents one workspace may have (uploaded, generated or built); creating one more answers 409 agent_limit_reached until one is deleted." },
  agentMaxKeys: { env: "CANTRIP_AGENT_MAX_KEYS", flag: "agent-max-keys", kind: "int", min: 1, max: 1_000_000, default: 100, doc: "Active API keys one agent may have (revoked keys do not count; a rotation replaces one); creating one more answers 409 key_limit_reached until one is revoked." },
  scheduleMinIntervalS: { env: "CANTRIP_SCHEDULE_MIN_INTERVAL_S", flag: "schedule-min-interval-s", kind: "int", min: 60, max: 31 * 86400, default: 60, doc: "Shortest interval between two runs of a backend's schedule, in seconds; a schedule that could run more often is refused (400 invalid_request)." },
  rateLimitPerKey: { env: "CANTRIP_RATE_LIMIT_KEY", flag: "rate-limit-key", kind: "int", min: 0, max: 1_000_000, default: 0, doc: "Requests per second per agent key (0 = unlimited); burst = 2x." },
  rateLimitPerAgent: { env: "CANTRIP_RATE_LIMIT_AGENT", flag: "rate-limit-agent", kind: "int", min: 0, max: 1_000_000, default: 0, doc: "Requests per second per agent (0 = unlimited); burst = 2x." },
  rateLimitAnonClient: { env: "CANTRIP_RATE_LIMIT_ANON_CLIENT", flag: "rate-limit-anon-client", kind: "int", min: 0, max: 1_000_000, default: 20, doc: "Requests per second to public apps without a key, per client address (IPv6: per /64; 0 = unlimited); burst = 2x." },
  rateLimitAnonAgent: { env: "CANTRIP_RATE_LIMIT_ANON_AGENT", flag: "rate-limit-anon-agent", kind: "int", min: 0, max: 1_000_000, default: 100, doc: "Requests per second to one public app without a key, all clients together (0 = unlimited); burst = 2x." },
  retentionDays: { env: "CANTRIP_RETENTION_DAYS", flag: "retention-days", kind: "int", min: 0, max: 36_500, default: 7, doc: "Invocation rows and backend log lines older than this many days are deleted (0 = no age limit)." },
  retentionInvocations: { env: "CANTRIP_RETENTION_INVOCATIONS", flag: "retention-invocations", kind: "int", min: 0, max: 100_000_000, default: 10_000, doc: "Invocation rows kept per agent, newest first (0 = no count limit)." },
  retentionLogLines: { env: "CANTRIP_RETENTION_LOG_LINES", flag: "retention-log-lines", kind: "int", min: 0, max: 100_000_000, default: 5_000, doc: "Backend log lines kept per agent, newest first (0 = no count limit)." },
  retentionLogBytes: { env: "CANTRIP_RETENTION_LOG_BYTES", flag: "retention-log-bytes", kind: "int", min: 0, max: 1024 * 1024 * 1024, default: 4 * 1024 * 1024, doc: "Bytes of backend log text kept per agent, newest first (0 = no size limit)." },
  retentionVersions: { env: "CANTRIP_RETENTION_VERSIONS", flag: "retention-versions", kind: "int", min: 0, max: 100_000, default: 50, doc: "Versions kept per agent, newest first; the live version and one being deployed are always kept (0 = keep every version)." },
  retentionIntervalS: { env: "CANTRIP_RETENTION_INTERVAL_S", flag: "retention-interval-s", kind: "int", min: 1, max: 86_400, default: 60, doc: "Seconds between retention passes (pruning in batches of 500 rows, then incremental vacuum)." },
  metricsToken: { env: "CANTRIP_METRICS_TOKEN", flag: "metrics-token", kind: "string", default: "", doc: "Bearer token that may scrape GET /metrics (besides the operator workspace's platform tokens). Empty: those tokens only." },
  metricsAgentLabels: { env: "CANTRIP_METRICS_AGENT_LABELS", flag: "metrics-agent-labels", kind: "int", min: 0, max: 10_000, default: 50, doc: "Agents that get their own label in invoke metrics (the first N called since start); the rest are \"other\"." },
  secretKey: { env: "CANTRIP_SECRET_KEY", flag: "secret-key", kind: "string", default: "", doc: "Base64 32-byte key for credentials at rest and signed tokens. Default: generated into <data-dir>/secret.key (0600). Required with CANTRIP_DATABASE_URL (the same on every node)." },
  databaseUrl: { env: "CANTRIP_DATABASE_URL", flag: "database-url", kind: "string", default: "", doc: "postgres://user:password@host:5432/db: keep all state in this PostgreSQL database (cluster mode: several nodes share it). Empty = the SQLite file in the data dir." },
  dbPoolMax: { env: "CANTRIP_DB_POOL_MAX", flag: "db-pool-max", kind: "int", min: 2, max: 1000, default: 10, doc: "PostgreSQL connections per node (plus one for LISTEN). Unused on SQLite." },
  ...limitSettings,
} as const satisfies Record<string, SettingSpec>;

export const ConfigSchema = T.Object({
  host: T.String({ minLength: 1 }),
  port: T.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: T.String({ minLength: 1 }),
  publicUrl: T.String(),
  appsPort: T.Integer({ minimum: -1, maximum: 65535 }),
  appsDomain: T.String({ pattern: "^$|^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$" }),
  appsPublicUrl: T.String(),
  logFormat: T.Union([T.Literal("pretty"), T.Literal("json")]),
  logRequests: T.Boolean(),
  bodyLimitBytes: T.Integer(),
  openaiBaseUrl: T.String(),
  openaiApiKey: T.String(),
  model: ModelId,
  structuredOutput: T.Union([T.Literal("auto"), T.Literal("json_schema"), T.Literal("json_object"), T.Literal("none")]),
  modelTimeoutMs: T.Integer(),
  maxRepairs: T.Integer(),
  jobConcurrency: T.Integer(),
  sandboxWorkers: T.Integer(),
  sandbox: T.Union([T.Literal("quickjs"), T.Literal("v8")]),
  node: T.String(),
  sandboxAgentConcurrency: T.Integer(),
  sandboxAgentQueue: T.Integer(),
  sandboxQueueWaitMs: T.Integer(),
  sandboxHeavyCpuMs: T.Integer(),
  sandboxMemoryBudgetMb: T.Integer(),
  sandboxWorkspaceSharePct: T.Integer(),
  egressAllowPrivate: T.Boolean(),
  egressAllowHosts: T.Array(T.String()),
  workspaceMaxAgents: T.Integer(),
  agentMaxKeys: T.Integer(),
  scheduleMinIntervalS: T.Integer(),
  rateLimitPerKey: T.Integer(),
  rateLimitPerAgent: T.Integer(),
  rateLimitAnonClient: T.Integer(),
  rateLimitAnonAgent: T.Integer(),
  retentionDays: T.Integer(),
  retentionInvocations: T.Integer(),
  retentionLogLines: T.Integer(),
  retentionLogBytes: T.Integer(),
  retentionVersions: T.Integer(),
  retentionIntervalS: T.Integer(),
  metricsToken: T.String(),
  metricsAgentLabels: T.Integer(),
  secretKey: T.String(),
  databaseUrl: T.String(),
  dbPoolMax: T.Integer(),
  ...limitSettingsSchema,
});

export type Config = Static<typeof ConfigSchema>;
