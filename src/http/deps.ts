/**
 * What the HTTP layer is given by the composition root. Route files take what they
 * need from here; none of them builds an I/O client of its own.
 */
import type { Config } from "../config";
import type { Db } from "../db";
import type { TokenSigner } from "../auth";
import type { RequestAuth } from "./auth";
import type { JobsPort } from "./jobs-port";
import type { Logger } from "./logger";
import type { PublicUrls } from "../lib/public-urls";
import type { AgentKeys } from "../auth";
import type { AgentService, Schedules } from "../agents";
import type { Deployer } from "../deploy";
import type { Builders } from "../builder/builders";
import type { Credentials } from "../builder/credentials";
import type { Conversations } from "../builder/conversations";
import type { Gateway, InvocationLog, LiveCache } from "../gateway";
import type { LimitPolicy } from "../agents/limits";
import type { Metrics } from "../metrics";

export interface ReadyCheck {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
  /** Operator counters (database size, rows pruned/dropped, loop failures); see src/health. */
  details?: Record<string, unknown>;
}

export interface HttpDeps {
  db: Db;
  config: Config;
  /** Public base URL, without a trailing slash. */
  baseUrl: string;
  /** The platform's and the apps' public URLs (apps may have their own origin). */
  urls: PublicUrls;
  version: string;
  logger: Logger;
  /** Resolves a request's principal: bearer platform token or dashboard session cookie + CSRF token. */
  verifier: RequestAuth;
  ready(): Promise<ReadyCheck>;
  agents: AgentService;
  deployer: Deployer;
  keys: AgentKeys;
  gateway: Gateway;
  invocations: InvocationLog;
  live: LiveCache;
  builders: Builders;
  credentials: Credentials;
  conversations: Conversations;
  jobs: JobsPort;
  signer: TokenSigner;
  llm: { configured: boolean; provider: string; defaultModel: string };
  schedules: Schedules;
  /** The operator's per-call limit defaults and maxima (for agent views). */
  limits?: LimitPolicy;
  /** Operator tools (backups); absent in apps built without a data dir. */
  admin?: {
    /** The workspace whose platform tokens are the operator's (the one created at first start). */
    operatorWorkspaceId(): Promise<string | null>;
    /** Writes a snapshot into a temporary file inside the data dir and returns it. */
    backup(): Promise<{ file: string; bytes: number; ms: number }>;
  };
  /** The Prometheus registry behind GET /metrics. */
  metrics: Metrics;
  /** Aborted when the server stops: open job event streams end (clients reconnect with Last-Event-ID). Absent: they end with their job. */
  stopping?: AbortSignal;
  /** Recent scheduled runs of an agent (wired once schedules exist). */
  scheduleRuns?: (agentId: string) => Promise<unknown[]>;
}
