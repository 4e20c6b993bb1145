/**
 * The composition root's server half: builds every I/O client from the config (database,
 * sandbox runtime, bundler, job queue, model provider), wires the services, registers the
 * job catalogue, recovers interrupted work, and starts listening. `src/main.ts` calls it
 * for `serve`; tests call it to get a real server on a random port with a fresh SQLite file.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { AgentKeys, bootstrapWorkspace, countWorkspaces, DashboardSessions, firstWorkspaceId, PlatformTokenVerifier, TokenSigner, loadMasterKey, writeSecretFile } from "./auth";
import { AgentService, Schedules } from "./agents";
import { Builders, Conversations, Credentials, Scheduler, Turns } from "./builder";
import { limitValues, type Config } from "./config";
import { limitPolicy } from "./agents/limits";
import { isMigrated, openStore, type Store } from "./db";
import { checkClusterSecret } from "./db/pg-cluster";
import { ConfigError } from "./config/load";
import { Deployer } from "./deploy";
import { deployJob } from "./deploy/job";
import { Gateway, InvocationLog, LiveCache, RateLimiter } from "./gateway";
import type { PipelineDeps } from "./generate/pipeline";
import type { GenerationLlm } from "./generate/ports";
import { AppError } from "./errors";
import { appSlugOfHost, hostRouter } from "./http/apps-host";
import { RequestAuth } from "./http/auth";
import { createLogger, type Logger } from "./http/logger";
import { preRouter, type Handle } from "./http/pre-router";
import { createHandler, pathnameOf } from "./http/server";
import type { HttpDeps } from "./http/deps";
import { PublicUrls } from "./lib/public-urls";
import { Tenancy } from "./lib/tenancy";
import { QuietWaiter } from "./lib/quiet-waiter";
import { errorResponse, familyOf } from "./http/envelope";
import { requestIdOf } from "./http/request-context";
import { createQueue, type Queue } from "./jobs";
import { lazyLlm } from "./llm/lazy";
import { CryptoBox } from "./lib/crypto-box";
import { createBundler } from "./bundle";
import { createRuntime, createSqliteKv, runSelftest, serverEngines } from "./runtime";
import { dropPrestartedWorkers } from "./runtime/spawn-worker";
import type { SandboxRuntime } from "./runtime/types";
import { newId } from "./lib/ids";
import { HealthCounters, installLastResort, reportLoopFailure, type Loop } from "./health";
import { Pruner } from "./retention";
import { ensurePrivateDir, ensurePrivateFile } from "./lib/private-files";
import { reconcile } from "./reconcile";
import { startServerLoops, type LoopName } from "./server-loops";
import { claimServer, snapshotDatabase } from "./ops";
import { agents } from "./db/schema";
import { Metrics } from "./metrics";
import { eq } from "drizzle-orm";

export const VERSION: string = pkg.version;

/** How long a dashboard sign-in lasts (the session cookie's Max-Age). */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/**
 * How long a stop waits for the requests in flight (calls, app responses, downloads) to be
 * answered once the listeners stopped accepting, in milliseconds; connections still open after
 * it (a slow client, a response streaming past it) are closed. The same bound as the job
 * queue's stop. Job event streams do not wait for it: a stop ends them at once (the client
 * reconnects with Last-Event-ID, to another node or to the restarted server).
 */
export const STOP_DRAIN_MS = 5000;

export interface Cantrip {
  url: string;
  port: number;
  /** http://host:port of the apps listener (CANTRIP_APPS_PORT), or null when there is none. */
  appsUrl: string | null;
  config: Config;
  adminTokenFile: string;
  /** The admin token minted by this start, if the database was empty. */
  bootstrapToken: string | null;
  /** Internals for tests and benchmarks (the clock-driven scheduler, the queue...). */
  internals: {
    queue: Queue;
    scheduler: Scheduler;
    runtime: SandboxRuntime;
    invocations: InvocationLog;
    keys: AgentKeys;
    /** The database file's writer connection, for tests that prepare fixtures on the file (null on PostgreSQL). */
    sqlite: Store["sqlite"];
    /** The open data layer (its dialect, size and close). */
    store: Store;
    /** The host's health counters (what /readyz details and, later, metrics show). */
    counters: HealthCounters;
    /** The background loops by name (see LoopName). */
    loops: Map<LoopName, Loop>;
    pruner: Pruner;
    /** The listeners' Elysia apps without the pre-router in front (tests compare the two paths). */
    elysia: { platform: (req: Request) => Promise<Response>; apps: (req: Request) => Promise<Response> };
    /** What the HTTP layer was given (tests build handlers from it). */
    http: HttpDeps;
  };
  stop(): Promise<void>;
}

export interface BootOptions {
  logger?: Logger;
  /** Print the bootstrap token banner (the CLI does; tests do not). */
  announce?: (line: string) => void;
  /** Start the scheduler's loops (tests drive it with internals.scheduler.tick instead). */
  scheduler?: boolean;
  /** Override the period of background loops (tests use short periods). */
  loopIntervalsMs?: Partial<Record<LoopName, number>>;
  /**
   * Held before the control plane is built, after the listeners are up (tests check what is
   * answered meanwhile: invoke and app calls are, other requests wait for the build).
   */
  controlPlaneGate?: Promise<void>;
  /** Called once the listeners are open (before the control plane is built and boot() resolves). */
  onListening?: () => void;
}

export type { LoopName } from "./server-loops";

export class StartupError extends Error {}

function checkDataDir(dir: string, logger: Logger): void {
  try {
    ensurePrivateDir(dir, (message, fields) => logger.warn(message, fields));
    accessSync(dir, constants.W_OK);
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new StartupError(`data dir ${dir} is not writable (${why}); set CANTRIP_DATA_DIR or --data-dir to a writable directory`);
  }
}

/** A stable id for this node, so the queue can tell its own interrupted jobs after a restart. */
function nodeId(dataDir: string): string {
  const file = join(dataDir, "node-id");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const id = newId("node");
  writeSecretFile(file, id + "\n");
  return id;
}

const derive = (key: Uint8Array, label: string) => createHash("sha256").update(label).update(key).digest();

/** The platform's own host must not look like an app's, or host routing would hide the dashboard. */
function checkAppsDomain(config: Config): void {
  if (!config.appsDomain || !config.publicUrl) return;
  let host: string;
  try {
    host = new URL(config.publicUrl).hostname;
  } catch {
    throw new StartupError(`CANTRIP_PUBLIC_URL: not a URL: ${config.publicUrl}`);
  }
  if (appSlugOfHost(host, config.appsDomain) !== null)
    throw new StartupError(`CANTRIP_APPS_DOMAIN: the platform's own host ${host} is under ${config.appsDomain}; give apps a domain of their own (ideally another registrable domain)`);
}

export async function boot(config: Config, opts: BootOptions = {}): Promise<Cantrip> {
  checkAppsDomain(config);
  const logger = opts.logger ?? createLogger(config.logFormat);
  const counters = new HealthCounters();
  const health = { logger, counters };
  const dataDir = resolve(config.dataDir);
  checkDataDir(dataDir, logger);
  let store: Store;
  try {
    store = await openStore({
      file: join(dataDir, "cantrip.db"),
      url: config.databaseUrl,
      poolMax: config.dbPoolMax,
      nodeId: nodeId(dataDir),
      warn: (message, fields) => logger.warn(message, fields),
      onBusError: (e, topic) => logger.error("change bus subscriber failed", { topic, error: (e as Error)?.message ?? String(e) }),
      checkpointInBackground: { onFailure: (message) => logger.warn("background WAL checkpoints stopped; commits checkpoint again", { error: message }) },
    });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const where = config.databaseUrl ? "the PostgreSQL database in CANTRIP_DATABASE_URL" : `database in ${dataDir}`;
    throw new StartupError(`cannot open ${where}: ${(e as Error).message}`);
  }
  const { db, sqlite } = store;
  if (store.convertedToIncrementalVacuum) logger.info("database converted to auto_vacuum=incremental (one-time VACUUM)", { dataDir });
  if (store.migrationsApplied) logger.info("database migrated", { dialect: store.dialect, applied: store.migrationsApplied });
  const releaseServer = claimServer(dataDir);
  // Files an older cantrip (or a copy) may have left readable by others.
  for (const f of ["admin-token", "secret.key", "node-id"]) ensurePrivateFile(join(dataDir, f), (message, fields) => logger.warn(message, fields), { create: false });

  const adminTokenFile = join(dataDir, "admin-token");
  const created = await bootstrapWorkspace(db);
  if (created) {
    writeSecretFile(adminTokenFile, created.token + "\n");
    opts.announce?.(`Created workspace and admin token (also written to ${adminTokenFile}, mode 0600):\n\n    ${created.token}\n\nIt is shown only once.`);
  } else if (!existsSync(adminTokenFile)) {
    if (store.dialect === "postgres")
      // Another node created the cluster's workspace and holds its first token; any token works here.
      logger.info("the cluster's workspace exists (created by another node); mint a token with `cantrip token create --name NAME --database-url …`", { file: adminTokenFile });
    else logger.warn("admin token file missing; mint a new token with `cantrip token create --name NAME`", { file: adminTokenFile });
  }

  const masterKey = loadMasterKey(dataDir, config.secretKey);
  if (store.dialect === "postgres") {
    // Every node must seal and open credentials with one key (src/db/pg-cluster.ts).
    try {
      await checkClusterSecret(db as never, masterKey);
    } catch (e) {
      await store.close();
      releaseServer();
      throw e instanceof ConfigError ? e : new StartupError(`cannot check the cluster's secret key: ${(e as Error).message}`);
    }
  }
  const box = new CryptoBox(derive(masterKey, "cantrip/credentials"));
  const signer = new TokenSigner(derive(masterKey, "cantrip/signed-tokens"));
  const credentials = new Credentials(db, box);
  // The bounds between workspaces bind only while there are several (src/lib/tenancy.ts).
  const tenancy = new Tenancy(config.sandboxWorkspaceSharePct / 100);
  tenancy.setWorkspaceCount(await countWorkspaces(db));
  const runtime = createRuntime({
    workers: config.sandboxWorkers,
    memoryBudgetBytes: config.sandboxMemoryBudgetMb * 1024 * 1024,
    scheduling: { agentConcurrency: config.sandboxAgentConcurrency, agentQueue: config.sandboxAgentQueue, queueWaitMs: config.sandboxQueueWaitMs, heavyCpuMs: config.sandboxHeavyCpuMs, workspaceShare: tenancy },
    kv: createSqliteKv(db),
    // Sandbox workers answer kv reads from their own connection to this file (SQLite only).
    kvReadFile: store.dialect === "sqlite" ? join(dataDir, "cantrip.db") : undefined,
    secrets: (agentId: string, name: string) => credentials.resolve(agentId, name),
    egress: { allowPrivate: config.egressAllowPrivate, allowHosts: config.egressAllowHosts, onRequest: (outcome) => metrics.egressRequest(outcome) },
    engine: serverEngines({ sandbox: config.sandbox, node: config.node }),
    // The heavy lane's workers start once the control plane is built (buildControlPlane), not
    // while the first calls after a start wait for the light worker.
    deferHeavyWorkers: true,
  });
  // A worker src/prestart.ts started that this runtime's engine did not take (V8) is not needed.
  dropPrestartedWorkers();
  const bundler = createBundler({ dataDir });
  // Scrape-time sources read components built below; the closures run only when /metrics is scraped.
  const metrics = new Metrics(
    {
      sandbox: () => {
        const st = runtime.stats();
        return { ...st, memoryBudgetBytes: config.sandboxMemoryBudgetMb * 1024 * 1024, queued: st.lanes.light.queued + st.lanes.heavy.queued + st.lanes.load.queued };
      },
      queue: () => queue.depth(),
      database: () => ({ sizeBytes: pruner.dbBytes(), prunedRows: counters.rowsPruned, droppedRows: counters.rowsDropped }),
      backgroundFailures: () => Object.entries(counters.snapshot().loopFailures).map(([loop, count]) => ({ loop, count })),
    },
    // (prom-client's process metrics are registered after the listeners are up: collectProcessMetrics below.)
    { agentLabelLimit: config.metricsAgentLabels, processMetrics: false },
  );
  const queue = createQueue({
    db,
    concurrency: config.jobConcurrency,
    workerId: nodeId(dataDir),
    onError: (e, where) => reportLoopFailure(`job-runner:${where}`, e, health),
    onAttempt: (a) => metrics.job(a.kind, a.outcome, a.ms / 1000),
    reserveSlot: () => tenancy.shared,
  });
  const tokens = new PlatformTokenVerifier(db);
  const sessions = new DashboardSessions(tokens, derive(masterKey, "cantrip/dashboard-sessions"), { ttlMs: SESSION_TTL_MS, secure: /^https:/i.test(config.publicUrl) });
  const verifier = new RequestAuth(tokens, sessions);
  const urls = new PublicUrls(config);
  const keys = new AgentKeys(db, { maxKeysPerAgent: config.agentMaxKeys });
  const { defaults: limitDefaults, maxima: limitMaxima } = limitValues(config);
  const limits = limitPolicy(limitDefaults, limitMaxima);
  const live = new LiveCache(db, limits);
  const invocations = new InvocationLog(db, {
    onRecord: (row) =>
      metrics.invocation(row.agentId, () => live.slugOf(row.agentId) ?? row.agentId, row.source ?? "invoke", row.errorCode ?? (row.status >= 500 ? "5xx" : "ok"), row.latencyMs / 1000),
    onDropped: (rows, reason) => {
      counters.rowsDropped += rows;
      logger.warn("invocation log rows dropped (cannot be written)", { rows, reason, totalDropped: counters.rowsDropped });
    },
  });
  const gateway = new Gateway(
    { keys, live, runtime, log: invocations, limiter: new RateLimiter() },
    {
      rateLimitPerKey: config.rateLimitPerKey,
      rateLimitPerAgent: config.rateLimitPerAgent,
      rateLimitAnonClient: config.rateLimitAnonClient,
      rateLimitAnonAgent: config.rateLimitAnonAgent,
    },
  );
  const removeLastResort = installLastResort(logger, counters, (origin) => metrics.uncaughtError(origin === "uncaughtException" ? "exception" : "rejection"));

  // The data plane listens first (issue 15, process start → first 2xx): invoke and app calls
  // need only the gateway and the pre-router. The control plane (Elysia's routes, the job
  // queue's recovery, background loops, process metrics) is built right after, between turns
  // of the event loop; a request for it that arrives before waits for it.
  let platformElysia: ((req: Request) => Promise<Response>) | null = null;
  let appsElysia: ((req: Request) => Promise<Response>) | null = null;
  let controlPlane: Promise<void> | null = null;
  // A request that waited for a control plane whose build failed gets the envelope's
  // internal_error (the server then stops: src/main.ts exits), not a dropped connection.
  const unbuilt = (req: Request) => errorResponse(familyOf(pathnameOf(req.url)), new AppError("internal_error", "The server failed to start; retry against a running server."), requestIdOf(req));
  const whenBuilt = (pick: () => Handle | null): Handle => (req) => {
    const h = pick();
    return h ? h(req) : controlPlane!.then(() => pick()!(req), () => unbuilt(req));
  };
  const front = { gateway, db, urls, logger };
  // Data-plane calls in flight while the control plane is being built: its steps wait for them.
  const dataPlane = new QuietWaiter();
  // Aborted when the server stops (the job event streams end on it: src/http/sse.ts).
  const stopping = new AbortController();
  const onCall = (answer: Promise<Response>) => {
    if (platformElysia) return; // (built: the last step of buildControlPlane sets it)
    dataPlane.begin();
    const end = () => dataPlane.end();
    answer.then(end, end);
  };
  const handlerOpts = {
    bodyLimitBytes: config.bodyLimitBytes,
    logger,
    logRequests: config.logRequests,
    onResponse: (path: string, status: number, seconds: number) => metrics.http(path, status, seconds),
  };
  // Invoke and app calls skip Elysia (src/http/pre-router.ts); Elysia answers everything else.
  const appsHandle = preRouter(front, { invoke: false, apps: "apps", onCall }, whenBuilt(() => appsElysia));
  const listen = (port: number, handle: Handle) =>
    Bun.serve({
      hostname: config.host,
      port,
      fetch: createHandler(hostRouter(config.appsDomain, appsHandle, handle), handlerOpts),
      // Bun's own cap answers in plain text; ours (in createHandler) answers JSON, so Bun's is a backstop.
      maxRequestBodySize: config.bodyLimitBytes * 4 + 1024 * 1024,
      idleTimeout: 120,
      development: false,
      // A failure outside Elysia's error handling (e.g. a client that vanished mid-body) is one
      // request's problem: logged and answered in the envelope, never a crash or a stack page.
      error(e) {
        logger.error("request failed outside the app", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        return errorResponse("control", new AppError("internal_error"), "unknown");
      },
    });
  // A listener that cannot open (a port in use) ends the start with what was opened so far
  // closed: the sandbox's workers, the database, the last-resort handlers, the server.pid.
  const unwind = async (cause: string, e: unknown): Promise<never> => {
    removeLastResort();
    await runtime.close().catch(() => {});
    await bundler.close().catch(() => {});
    await store.close().catch(() => {});
    releaseServer();
    throw new StartupError(`${cause}: ${(e as Error).message}`);
  };
  let server: ReturnType<typeof listen>;
  try {
    server = listen(config.port, preRouter(front, { invoke: true, apps: "platform", onCall }, whenBuilt(() => platformElysia)));
  } catch (e) {
    return unwind(`cannot listen on port ${config.port}`, e);
  }
  let appsServer: ReturnType<typeof listen> | null = null;
  try {
    appsServer = config.appsPort >= 0 ? listen(config.appsPort, appsHandle) : null;
  } catch (e) {
    await server.stop(true);
    return unwind(`cannot listen on the apps port ${config.appsPort}`, e);
  }
  const port = server.port!;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const hostPart = shownHost.includes(":") ? `[${shownHost}]` : shownHost;
  const url = `http://${hostPart}:${port}`;
  const appsUrl = appsServer ? `http://${hostPart}:${appsServer.port}` : null;
  urls.listening({ mainUrl: url, appsUrl });
  opts.onListening?.();

  const deployer = new Deployer({ db, runtime, serverLimits: limits, live });
  deployer.enqueue = async (tx, payload, meta) => (await queue.enqueueInTx(tx, "deploy", payload, meta)).id;
  const agentsSvc = new AgentService({ db, bundler, runtime, defaultEngine: config.sandbox, serverLimits: limits, maxAgents: config.workspaceMaxAgents });
  const schedules = new Schedules({ db, minIntervalMs: config.scheduleMinIntervalS * 1000 });
  const builders = new Builders({ db, agents: agentsSvc, deployer, keys, box, urls, schedules });
  const conversations = new Conversations({
    db,
    jobs: queue,
    builderView: async (agentId, c) => builders.view(await builders.row(agentId), { reviewPassed: c.reviewPassed, qaPassed: c.qaPassed }),
  });
  const scheduler = new Scheduler({ db, jobs: queue, log: invocations, minIntervalMs: config.scheduleMinIntervalS * 1000 });
  const pruner = new Pruner(
    db,
    { maxAgeDays: config.retentionDays, maxInvocations: config.retentionInvocations, maxLogLines: config.retentionLogLines, maxLogBytes: config.retentionLogBytes, maxVersions: config.retentionVersions },
    { sizeBytes: () => store.sizeBytes() },
  );
  const loops = new Map<LoopName, Loop>();
  const llm = lazyLlm({
    baseURL: config.openaiBaseUrl,
    apiKey: config.openaiApiKey,
    model: config.model,
    timeoutMs: config.modelTimeoutMs,
    structuredOutput: config.structuredOutput,
    observe: (call) => metrics.modelCall(call),
  });

  /** Builds what the data plane does not need; see "The data plane listens first" above. */
  const buildControlPlane = async (): Promise<void> => {
    // One step per turn of the event loop, each after the data-plane calls in flight have been
    // answered (at most 100 ms each): a call that arrives meanwhile waits for one step at most.
    await opts.controlPlaneGate;
    await dataPlane.quiet();
    const { generateJob, validateJob } = await import("./generate/job");
    const { builderTurnJob, scheduleRunJob } = await import("./builder/jobs");
    const unconfigured: GenerationLlm = {
      json: async () => {
        throw new AppError("model_not_configured");
      },
      text: async () => {
        throw new AppError("model_not_configured");
      },
    };
    const pipeline: PipelineDeps = { db, llm: llm ?? unconfigured, bundler, runtime, deployer, schedules, maxRepairs: config.maxRepairs, serverLimits: limits };
    const turns = new Turns({ db, llm: llm ?? unconfigured, pipeline, deployer, builders, credentials, gateway, maxRounds: 8, maxAgents: config.workspaceMaxAgents });
    queue
      .register(deployJob(deployer))
      .register(generateJob(pipeline))
      .register(validateJob(pipeline))
      .register(builderTurnJob(turns))
      .register(scheduleRunJob({ db, runtime, live, log: invocations }));
    await dataPlane.quiet();
    const recovered = await queue.recover();
    if (recovered.requeued.length || recovered.failed.length) logger.warn("recovered interrupted jobs", recovered);
    await reconcile(db, queue, deployer);
    queue.start();
    startServerLoops(loops, { db, config, invocations, keys, tenancy, scheduler, pruner, health }, { scheduler: opts.scheduler, intervalsMs: opts.loopIntervalsMs });
    await dataPlane.quiet();
    const { createApp, createAppsApp } = await import("./http/app");
    await dataPlane.quiet();
    const app = createApp(httpDeps);
    await dataPlane.quiet();
    // Tenant content gets its own origin where the operator gave it one (docs/ARCHITECTURE.md, "Origins").
    const appsApp = createAppsApp(httpDeps);
    await dataPlane.quiet();
    metrics.collectProcessMetrics();
    runtime.startDeferredWorkers();
    // Last: a request answered by Elysia sees the whole server (e.g. the first /metrics scrape
    // has the process metrics), whether it waited for the build or arrived after this line.
    platformElysia = (req: Request) => app.handle(req);
    appsElysia = (req: Request) => appsApp.handle(req);
  };

  let selftest: { ok: boolean; detail: string } | null = null;
  const checkSandbox = async (): Promise<{ ok: boolean; detail: string }> => {
    if (selftest?.ok) return selftest;
    // The call path only (SelftestOptions): the load worker's first start is not waited for.
    const result = await runSelftest(runtime, { loadCheck: false }).catch((e: unknown) => ({ ok: false, detail: (e as Error).message }));
    selftest = result;
    return result;
  };
  const httpDeps: HttpDeps = {
    db,
    config,
    get baseUrl() {
      return urls.base;
    },
    urls,
    version: VERSION,
    logger,
    verifier,
    agents: agentsSvc,
    deployer,
    keys,
    gateway,
    invocations,
    live,
    builders,
    credentials,
    conversations,
    jobs: queue,
    signer,
    limits,
    admin: {
      operatorWorkspaceId: () => firstWorkspaceId(db),
      backup: async () => {
        // A snapshot is of the SQLite file; a PostgreSQL database is backed up with its own tools.
        if (store.dialect !== "sqlite") throw new AppError("backup_not_supported");
        const dir = join(dataDir, "backups");
        ensurePrivateDir(dir);
        return snapshotDatabase(join(dataDir, "cantrip.db"), join(dir, `snapshot-${newId("bak")}.db`));
      },
    },
    metrics,
    stopping: stopping.signal,
    schedules,
    llm: { configured: llm !== null, provider: llm?.provider ?? "none", defaultModel: config.model },
    scheduleRuns: async (agentId) =>
      Promise.all(
        (await queue.list({ agentId, kind: "schedule.run", limit: 50 })).map(async (j) => ({
          id: j.id,
          status: j.status,
          createdAt: new Date(j.createdAt).toISOString(),
          failure: j.failure ?? null,
          events: (await queue.events(j.id)).filter((e) => e.type === "log").map((e) => e.message),
        })),
      ),
    ready: async () => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      try {
        const migrated = await isMigrated(db);
        checks.database = { ok: migrated, detail: migrated ? "migrated" : "migrations pending" };
      } catch (e) {
        checks.database = { ok: false, detail: (e as Error).message };
      }
      checks.sandbox = await checkSandbox();
      checks.model = { ok: true, detail: llm ? `${llm.provider} (${config.model})` : "not configured (generation disabled)" };
      counters.dbBytes = await pruner.dbBytes().catch(() => counters.dbBytes);
      return { ok: Object.values(checks).every((c) => c.ok), checks, details: { ...counters.snapshot(), pendingLogRows: invocations.pending, zombieThreads: runtime.stats().zombieThreads } };
    },
  };

  /**
   * Stops accepting on both listeners and waits for the requests in flight to be answered, at
   * most STOP_DRAIN_MS, then closes what is still open. Job event streams end first (stopping).
   */
  const drainListeners = async () => {
    stopping.abort();
    const listeners = appsServer ? [server, appsServer] : [server];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_DRAIN_MS)));
    await Promise.race([Promise.all(listeners.map((l) => l.stop(false))), bound]);
    clearTimeout(timer);
    await Promise.all(listeners.map((l) => l.stop(true)));
  };
  const stop = async () => {
    pruner.stop(); // (a pass in progress ends after its current batch instead of running on)
    await Promise.all([...loops.values()].map((l) => l.stop()));
    await drainListeners();
    await queue.stop({ timeoutMs: 5000 });
    await invocations.flush();
    try {
      await keys.flushUsage();
    } catch (e) {
      reportLoopFailure("key-usage", e, health);
    }
    removeLastResort();
    await runtime.close();
    await bundler.close();
    await store.close();
    releaseServer();
  };
  controlPlane = buildControlPlane();
  try {
    await controlPlane;
  } catch (e) {
    await stop().catch(() => {});
    throw e instanceof StartupError ? e : new StartupError(`cannot start: ${(e as Error).message}`);
  }

  return {
    url,
    port,
    appsUrl,
    config,
    adminTokenFile,
    bootstrapToken: created?.token ?? null,
    internals: { queue, scheduler, runtime, invocations, keys, sqlite, store, counters, loops, pruner, elysia: { platform: platformElysia!, apps: appsElysia! }, http: httpDeps },
    stop,
  };
}

