/**
 * The engine interface behind the runtime: load(bundle, limits) → instance;
 * instance.fetch / scheduled / dispose. The runtime (pool, bridges, errors) is written
 * against this only, so a second engine (V8 in a sidecar) plugs in without touching it.
 * Engines reject with AppError (see failures.ts) for platform failures.
 */
import type { Lane } from "./lanes";
import type { BackendDescription, BundleRef, GuestRequest, GuestResponse, GuestStreamResponse, Limits, ScheduledResult } from "./types";

/** Host services for one call: kv.get/set/delete/list and fetch, scoped to the agent. */
export interface CallBridge {
  call(op: string, args: string, bytes: Uint8Array | undefined): Promise<{ json: string; bytes?: Uint8Array }>;
  /**
   * A host call the engine answered without the bridge (a kv.get the sandbox worker read
   * from its own SQLite connection: EngineFactoryOptions.kvReadFile), reported in its place
   * among the call's host calls with the JSON it answered, so the replay journal holds it as
   * if it had come through `call`. Absent: nothing records such reads.
   */
  record?(op: string, args: string, json: string): void;
  /**
   * True when this bridge serves a re-run of a call (replay.ts): its reads must come
   * through `call`, which answers what the first attempt saw, not from the engine's own
   * connection.
   */
  readonly replaying?: boolean;
}

export interface EngineInstance {
  readonly description: BackendDescription;
  /** False once the engine has dropped it (a limit hit, a crash, its worker restarted). */
  readonly alive: boolean;
  /** Host memory attributed to the instance (its engine heap), for the pool's budget. */
  readonly memoryBytes: number;
  /** `bridge` replaces the load-time bridge for this call (the runtime's replay journal). */
  fetch(req: GuestRequest, bridge?: CallBridge): Promise<GuestResponse>;
  /**
   * fetch, asking the guest to hand over a `ReadableStream` body as it is produced: the
   * head passes guest-values.ts at once and the chunks come through stream-body.ts. The
   * call (its bridge, its limits) stays open until the returned stream's `finished` settles.
   */
  fetchStream(req: GuestRequest, bridge?: CallBridge): Promise<GuestResponse | GuestStreamResponse>;
  scheduled(bridge?: CallBridge): Promise<ScheduledResult>;
  dispose(): void;
}

export interface EngineLoadOptions {
  ref: BundleRef;
  limits: Limits;
  /** Makes the host bridge for one call (per-call counters live in it). */
  bridge: () => CallBridge;
  /** Which workers hold the instance (lanes.ts); default light. */
  lane?: Lane;
}

export interface Engine {
  readonly name: string;
  load(opts: EngineLoadOptions): Promise<EngineInstance>;
  workers(): number;
  /** Workers (or sidecars) the host watchdog terminated since start. */
  watchdogKills(): number;
  /**
   * Killed workers whose OS thread still runs (a kill takes effect only when the guest next
   * reaches the host's code), in all or left by `agentId`'s calls; 0 for an engine whose
   * kill ends its work at once (the V8 engine's SIGKILL).
   */
  zombies(agentId?: string): number;
  /** Starts the workers `EngineFactoryOptions.deferHeavy` held back (idempotent). */
  startDeferred(): void;
  close(): Promise<void>;
}

export interface EngineFactoryOptions {
  workers: number;
  /** Default memory cap, so pre-created interpreters match the common case. */
  memoryBytes: number;
  /**
   * Start the heavy lane's workers on `startDeferred()` (or that lane's first call), not with
   * the engine: the server holds them back until its first calls have been answered (a new
   * worker compiles its own QuickJS module, ~10 ms of CPU, spawn-worker.ts).
   */
  deferHeavy?: boolean;
  /**
   * The SQLite database file the kv store (kv-sqlite.ts) writes. When set, a sandbox worker
   * answers a guest's `kv.get` from its own read-only connection to it instead of asking
   * the main thread (issue 15: the round trip cost a kv-reading call ~85 µs of the main
   * thread and ~90 µs of the worker). Unset on PostgreSQL and for in-memory databases.
   */
  kvReadFile?: string;
}

export type EngineFactory = (opts: EngineFactoryOptions) => Engine;
