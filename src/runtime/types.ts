/**
 * The contract between cantrip's services and the sandbox runtime. The gateway, the
 * deployer and the generation pipeline see only these types: no engine, worker or
 * QuickJS type crosses this line. Requests and responses are plain data so they can cross
 * a worker (or process) boundary unchanged.
 */

/** A request for a guest's fetch handler. `url` is absolute (http://agent.local/path?q). */
export interface GuestRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

export interface GuestLogLine {
  level: "debug" | "info" | "log" | "warn" | "error";
  message: string;
  at: number;
}

export interface GuestResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  logs: GuestLogLine[];
  /** CPU time spent in guest code (ms), and wall time of the call (ms). */
  cpuMs: number;
  wallMs: number;
}

/**
 * A response whose body the guest is still producing (a `ReadableStream` body on /apps,
 * SandboxRuntime.fetchStream). Status and headers were checked once, when the head
 * arrived (guest-values.ts); `body` yields the guest's chunks as it enqueues them, each
 * checked on arrival (guest-values.ts acceptChunk). The call (its instance, its lane, its
 * CPU and wall limits, measured from the call's start) lasts until `finished` settles.
 * Cancelling `body` (the client went away) cancels the guest's stream and ends the call.
 */
export interface GuestStreamResponse {
  status: number;
  headers: [string, string][];
  body: ReadableStream<Uint8Array>;
  /** Never rejects: how the call ended, once it has (see StreamEnd). */
  finished: Promise<StreamEnd>;
}

/** Why a streamed body ended before the guest closed it. */
export type StreamCutReason =
  /** The client disconnected (or stopped reading): the guest's stream was cancelled. */
  | "client_closed"
  /** The guest's stream errored (or its pull threw). */
  | "stream_error"
  /** A chunk that is not bytes, or the body passed the agent's responseBytes limit. */
  | "bad_response"
  | RuntimeFailureReason;

/** How a streamed call ended: totals, the whole call's console lines and timings, and why it was cut short (if it was). */
export interface StreamEnd {
  /** Body bytes handed to the client. */
  bytes: number;
  logs: GuestLogLine[];
  cpuMs: number;
  wallMs: number;
  cut?: { reason: StreamCutReason; message: string };
}

/** Limits enforced by the host for every call. Server defaults, overridable per agent. */
export interface Limits {
  cpuMs: number; // default 1000
  wallMs: number; // default 10000
  memoryBytes: number; // default 64 MiB
  responseBytes: number; // default 5 MiB
  logLines: number; // per call, default 200
  logBytes: number; // per call, default 64 KiB
  concurrency: number; // concurrent calls per instance, default 8
  kvValueBytes: number; // default 256 KiB
  kvTotalBytes: number; // per agent, default 16 MiB
  fetchTimeoutMs: number; // per outbound fetch, default 5000
  fetchMaxBytes: number; // per outbound response, default 2 MiB
  fetchPerCall: number; // outbound fetches per call, default 20
  timers: number; // pending timers per call, default 1000 (the guest prelude's own cap)
}

export const defaultLimits: Limits = {
  cpuMs: 1000,
  wallMs: 10_000,
  memoryBytes: 64 * 1024 * 1024,
  responseBytes: 5 * 1024 * 1024,
  logLines: 200,
  logBytes: 64 * 1024,
  concurrency: 8,
  kvValueBytes: 256 * 1024,
  kvTotalBytes: 16 * 1024 * 1024,
  fetchTimeoutMs: 5000,
  fetchMaxBytes: 2 * 1024 * 1024,
  fetchPerCall: 20,
  timers: 1000,
};

/** A secret granted to an agent: the guest sees only `name`; the proxy injects the value. */
export interface SecretGrant {
  name: string;
  hosts: string[];
}

/** Everything the runtime needs to know about the agent whose code it runs. */
export interface AgentRuntimeConfig {
  agentId: string;
  /**
   * The agent's workspace (the tenant): the scheduler and the instance pool bound what one
   * workspace's calls may hold of the shared lanes and memory budget by it. Absent: the
   * call is not attributed to a tenant and only the per-agent bounds apply.
   */
  workspaceId?: string;
  limits: Limits;
  /** Hosts ctx.fetch may reach (exact host names, or "*.example.com"). */
  allowedHosts: string[];
  secrets: SecretGrant[];
  /** Plain (non-secret) env values exposed as ctx.env. */
  env?: Record<string, string>;
  /** Sandbox engine for this agent; the runtime's default when absent. */
  engine?: EngineName;
  /**
   * Run in a scratch world (validation, QA, self-heal): kv goes to the world's own
   * in-memory namespace and outbound requests are answered by its upstream fixtures, never
   * the network. The world must be opened with `SandboxRuntime.openScratch(namespace)`.
   */
  scratch?: { namespace: string };
  /**
   * How the guest is called (issue 15): absent = the lean calling convention (an SDK backend
   * gets the request's parts and builds its Request only if the handler reads ctx.request);
   * "full" = always build the Request first, the reference path. Both answer identically;
   * the contract suite runs on both.
   */
  dispatch?: "full";
}

import type { ScratchWorld } from "./scratch";
export type { ScratchWorld, UpstreamFixture, EgressEvent } from "./scratch";

export type EngineName = "quickjs" | "v8";

/** Identifies one loaded bundle: warm instances are keyed by it. */
export interface BundleRef {
  agentId: string;
  /** Unique per bundle content (a version id, or a content hash for unsaved candidates). */
  bundleId: string;
  /** The ESM bundle text; `import ... from "cantrip"` is left external. */
  code: string;
  config: AgentRuntimeConfig;
}

/** The backend's own description: routes with their JSON schemas (from describe()). */
export interface BackendDescription {
  routes: {
    method: string;
    path: string;
    summary?: string;
    input?: unknown;
    output?: unknown;
  }[];
  scheduled: boolean;
}

/** Why a call failed at the platform level (not a backend-level 4xx/5xx). */
export type RuntimeFailureReason =
  | "cpu_timeout"
  | "wall_timeout"
  | "memory_limit"
  | "crashed"
  | "bad_response"
  | "load_failed"
  | "overloaded"
  /** A bystander: its worker was killed because of another call (see failures.ts). */
  | "worker_restarted"
  /** The sandbox's total memory budget is held by other calls (503 sandbox_memory_exhausted). */
  | "memory_budget";

export interface RuntimeStats {
  workers: number;
  instances: number;
  /** Sandbox memory committed now: idle instances at their heap, busy ones and loads at their cap. */
  memoryBytes: number;
  loads: number;
  evictions: number;
  /** Calls re-run after their worker was killed for another call's sake (replay.ts). */
  replays: number;
  /** Calls running and waiting per lane (scheduler.ts). */
  lanes: { light: { active: number; queued: number }; heavy: { active: number; queued: number }; load: { queued: number } };
  /** Calls refused before running (429 rate_limited, 503 sandbox_busy) since start: by the scheduler, or while their agent's killed thread still ran (runtime.ts ZOMBIES_PER_AGENT). */
  refused: number;
  /** Workers or sidecars the watchdog terminated since start. */
  watchdogKills: number;
  /** Killed sandbox workers whose thread still runs now (at nice 19, until its guest's next interrupt poll). */
  zombieThreads: number;
}

export interface ScheduledResult {
  ok: boolean;
  logs: GuestLogLine[];
  error?: string;
  cpuMs: number;
  wallMs: number;
}

/**
 * The sandbox runtime. Platform failures are thrown as AppError:
 * `endpoint_timeout` (cpu_timeout / wall_timeout), `sandbox_memory_exhausted`
 * (memory_budget, with Retry-After), `bad_response` (a response that is not valid HTTP; see
 * guest-values.ts) or `endpoint_unreachable` (memory_limit, crashed, load_failed,
 * overloaded), with `details.reason`; the guest's console lines of a failed call are on the
 * error (failureLogs), never in its details. Every response, description and scheduled
 * result returned here has passed guest-values.ts.
 */
export interface SandboxRuntime {
  /** Load the bundle once (fresh instance), return its description; throws on load failure. */
  check(ref: BundleRef): Promise<BackendDescription>;
  /** Call the backend's fetch handler on a warm (or cold-loaded) instance. */
  fetch(ref: BundleRef, req: GuestRequest): Promise<GuestResponse>;
  /**
   * Like fetch, but a `ReadableStream` body is handed over as the guest produces it (the
   * /apps path); any other body arrives whole, as from fetch. See GuestStreamResponse.
   */
  fetchStream(ref: BundleRef, req: GuestRequest): Promise<GuestResponse | GuestStreamResponse>;
  /** Run the backend's scheduled handler. */
  scheduled(ref: BundleRef): Promise<ScheduledResult>;
  /**
   * Opens a fresh scratch world (in-memory kv + upstream fixtures) for bundles whose config
   * names `namespace`; discard it when the run ends. See scratch.ts.
   */
  openScratch(namespace: string): ScratchWorld;
  /** Drop warm instances of an agent (all bundles, or one). */
  evict(agentId: string, bundleId?: string): void;
  /**
   * Load an instance of `ref` in the background, unless one is warm or loading, so the first
   * call finds it ready (a deploy calls this as its version goes live; issue 15). Returns at
   * once; a failed load is ignored here (the first call loads again and reports its own).
   */
  warm(ref: BundleRef): void;
  /** Starts the workers `RuntimeOptions.deferHeavyWorkers` held back (idempotent). */
  startDeferredWorkers(): void;
  stats(): RuntimeStats;
  close(): Promise<void>;
}

/** Host-side services the runtime bridges into the guest's ctx. */
export interface KvStore {
  get(agentId: string, key: string): Promise<unknown | undefined> | unknown | undefined;
  set(agentId: string, key: string, value: unknown, limits: Pick<Limits, "kvValueBytes" | "kvTotalBytes">): Promise<void> | void;
  delete(agentId: string, key: string): Promise<boolean> | boolean;
  list(agentId: string, opts: { prefix?: string; limit?: number; cursor?: string }): Promise<{ keys: string[]; cursor: string | null }> | { keys: string[]; cursor: string | null };
}

/** Resolves a secret's value for an agent; null when not granted. Values never enter the guest. */
export type SecretResolver = (agentId: string, name: string) => string | null | Promise<string | null>;
