/**
 * What an operator's Prometheus scrapes: one prom-client registry with cantrip's series
 * (names and units per the Prometheus conventions: `_total` counters, `_seconds` and
 * `_bytes` base units) plus the client's default process metrics (RSS, CPU, event-loop
 * lag, GC). Code on the hot path only calls the small recording methods here; gauges that
 * mirror other components' state (sandbox, queue, database) are read at scrape time
 * through the `sources` callbacks, so nothing is polled in between.
 *
 * Label cardinality is bounded: agents get their own label value for the first
 * `agentLabelLimit` agents seen since start (default 50), every later one is "other";
 * models likewise (default 20).
 */
// prom-client's files one by one, not its index (which also loads the Pushgateway's node:http,
// the cluster aggregator and the default metrics): prom-client-lib.d.ts.
import Counter from "prom-client/lib/counter";
import Gauge from "prom-client/lib/gauge";
import Histogram from "prom-client/lib/histogram";
import Registry from "prom-client/lib/registry";
import { CounterSeries, HistogramSeries } from "./series";

/** Label tuples http() and invocation() each keep a series for (series.ts). */
export const SERIES_CACHE_LIMIT = 10_000;

/** Where the scrape-time gauges come from; each may be absent (the series is then not exported). */
export interface MetricSources {
  sandbox?: () => { workers: number; instances: number; memoryBytes: number; memoryBudgetBytes: number; loads: number; evictions: number; watchdogKills?: number; zombieThreads?: number; queued?: number; refused?: number };
  queue?: () => Promise<{ kind: string; status: string; count: number }[]> | { kind: string; status: string; count: number }[];
  /** The database's size (bytes; a promise when it must be asked of the database) and retention counts. */
  database?: () => { sizeBytes: number | Promise<number>; prunedRows?: number; droppedRows?: number };
  backgroundFailures?: () => { loop: string; count: number }[];
}

export interface MetricsOptions {
  agentLabelLimit?: number;
  modelLabelLimit?: number;
  /**
   * Registers prom-client's default process metrics (RSS, event-loop lag, …) in the
   * constructor. Default true; with false they can be registered later by
   * `collectProcessMetrics()` (the server does, once its listeners are up: registering them
   * reads the heap statistics, a few ms).
   */
  processMetrics?: boolean;
}

/** The HTTP route families requests are counted by. */
export type RouteFamily = "invoke" | "apps" | "v1" | "api_v1" | "mcp" | "docs" | "health" | "metrics" | "dashboard" | "other";

/** Maps a request path to its family: `/v1/invoke/*`, `/apps/*`, `/v1/*`, `/api/v1/*`, `/mcp`, … */
export function routeFamily(pathname: string): RouteFamily {
  if (pathname.startsWith("/v1/invoke/")) return "invoke";
  if (pathname.startsWith("/apps/")) return pathname.includes("/_mcp") ? "mcp" : "apps";
  if (pathname === "/mcp" || pathname.startsWith("/mcp/")) return "mcp";
  if (pathname.startsWith("/v1/")) return "v1";
  if (pathname.startsWith("/api/v1/")) return "api_v1";
  if (pathname === "/metrics") return "metrics";
  if (pathname === "/healthz" || pathname === "/readyz") return "health";
  if (pathname === "/docs" || pathname.startsWith("/docs/") || pathname === "/openapi.json") return "docs";
  if (pathname === "/" || pathname.startsWith("/ui/") || pathname.startsWith("/assets/")) return "dashboard";
  return "other";
}

/** Assigns label values to the first `limit` keys seen; later keys share "other". */
class BoundedLabels {
  private readonly seen = new Map<string, string>();
  constructor(private readonly limit: number) {}
  of(key: string, name: () => string = () => key): string {
    const hit = this.seen.get(key);
    if (hit !== undefined) return hit;
    if (this.seen.size >= this.limit) return "other";
    const label = name();
    this.seen.set(key, label);
    return label;
  }
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  private readonly agents: BoundedLabels;
  private readonly models: BoundedLabels;

  private readonly httpRequests = new Counter({ name: "cantrip_http_requests_total", help: "HTTP requests answered, by route family and status code.", labelNames: ["family", "status"], registers: [this.registry] });
  private readonly httpDuration = new Histogram({ name: "cantrip_http_request_duration_seconds", help: "HTTP request latency by route family.", labelNames: ["family"], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly invokeDuration = new Histogram({
    name: "cantrip_invoke_duration_seconds",
    help: "Backend call latency by source (invoke, app, mcp, scheduled), agent (first N agents, then 'other') and outcome (ok, error: a platform error code, or the backend's 5xx).",
    labelNames: ["agent", "source", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly modelCalls = new Counter({ name: "cantrip_model_calls_total", help: "Model server HTTP attempts by model and outcome (ok, error).", labelNames: ["model", "outcome"], registers: [this.registry] });
  private readonly modelTokens = new Counter({ name: "cantrip_model_tokens_total", help: "Tokens reported by the model server, by model and direction (prompt, completion).", labelNames: ["model", "direction"], registers: [this.registry] });
  private readonly modelDuration = new Histogram({ name: "cantrip_model_call_duration_seconds", help: "Model server call latency by model.", labelNames: ["model"], buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers: [this.registry] });
  private readonly jobDuration = new Histogram({ name: "cantrip_job_duration_seconds", help: "Job attempt duration by kind and outcome (completed, failed, cancelled, retried, requeued).", labelNames: ["kind", "outcome"], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800], registers: [this.registry] });
  private readonly egress = new Counter({ name: "cantrip_egress_requests_total", help: "Outbound requests from backends through the egress proxy, by outcome (allowed, refused, failed, fixture).", labelNames: ["outcome"], registers: [this.registry] });
  private readonly uncaught = new Counter({ name: "cantrip_uncaught_errors_total", help: "Uncaught exceptions and unhandled rejections caught by the last line of defence.", labelNames: ["kind"], registers: [this.registry] });

  private processMetrics = false;

  /** Registers prom-client's default process metrics once (later calls do nothing). */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    // Loaded on this first call, not with this module (~40% of prom-client's loading).
    const collectDefaultMetrics: typeof import("prom-client").collectDefaultMetrics = require("prom-client/lib/defaultMetrics");
    collectDefaultMetrics({ register: this.registry });
  }

  constructor(sources: MetricSources = {}, opts: MetricsOptions = {}) {
    this.agents = new BoundedLabels(opts.agentLabelLimit ?? 50);
    this.models = new BoundedLabels(opts.modelLabelLimit ?? 20);
    if (opts.processMetrics !== false) this.collectProcessMetrics();
    const reg = [this.registry];
    if (sources.sandbox) {
      const read = sources.sandbox;
      const gauge = (name: string, help: string, pick: (s: ReturnType<typeof read>) => number | undefined) =>
        new Gauge({
          name,
          help,
          registers: reg,
          collect() {
            const v = pick(read());
            if (v !== undefined) this.set(v);
          },
        });
      gauge("cantrip_sandbox_workers", "Sandbox worker threads (or sidecars) running.", (s) => s.workers);
      gauge("cantrip_sandbox_instances", "Sandbox instances loaded (warm and in flight).", (s) => s.instances);
      gauge("cantrip_sandbox_memory_bytes", "Memory held by sandbox instances.", (s) => s.memoryBytes);
      gauge("cantrip_sandbox_memory_budget_bytes", "The sandbox memory budget (CANTRIP_SANDBOX_MEMORY_MB).", (s) => s.memoryBudgetBytes);
      gauge("cantrip_sandbox_loads", "Bundle loads since start (a counter exported as a gauge: it is read from the runtime).", (s) => s.loads);
      gauge("cantrip_sandbox_evictions", "Instances evicted since start.", (s) => s.evictions);
      gauge("cantrip_sandbox_watchdog_kills", "Workers (or V8 sidecars) terminated by the watchdog since start.", (s) => s.watchdogKills);
      gauge("cantrip_sandbox_zombie_threads", "Watchdog-killed sandbox workers whose thread still runs now (at nice 19, until the guest's next interrupt poll).", (s) => s.zombieThreads);
      gauge("cantrip_sandbox_calls_queued", "Calls waiting for a sandbox slot now.", (s) => s.queued);
      gauge("cantrip_sandbox_calls_refused", "Calls refused before running since start (429 rate_limited: the agent's own limits, or its killed thread still running; 503 sandbox_busy: no free turn in time).", (s) => s.refused);
    }
    if (sources.queue) {
      const read = sources.queue;
      new Gauge({
        name: "cantrip_jobs",
        help: "Jobs in the queue by kind and status (queued, running).",
        labelNames: ["kind", "status"],
        registers: reg,
        async collect() {
          const rows = await read();
          this.reset();
          for (const r of rows) this.set({ kind: r.kind, status: r.status }, r.count);
        },
      });
    }
    if (sources.database) {
      const read = sources.database;
      new Gauge({ name: "cantrip_database_size_bytes", help: "Size of the database: the SQLite file with its WAL, or pg_database_size on PostgreSQL.", registers: reg, async collect() { this.set(await read().sizeBytes); } });
      new Gauge({ name: "cantrip_retention_pruned_rows", help: "Invocation and log rows removed by retention since start.", registers: reg, collect() { const v = read().prunedRows; if (v !== undefined) this.set(v); } });
      new Gauge({ name: "cantrip_invocation_rows_dropped", help: "Invocation-log rows that could never be written (their agent was gone) since start.", registers: reg, collect() { const v = read().droppedRows; if (v !== undefined) this.set(v); } });
    }
    if (sources.backgroundFailures) {
      const read = sources.backgroundFailures;
      new Gauge({
        name: "cantrip_background_loop_failures",
        help: "Failures caught in each background loop since start.",
        labelNames: ["loop"],
        registers: reg,
        collect() {
          this.reset();
          for (const r of read()) this.set({ loop: r.loop }, r.count);
        },
      });
    }
  }

  // Series cached by label tuple (series.ts: no label hashing per call on the hot path), in
  // maps nested by label so that no key string is built per call, at most
  // SERIES_CACHE_LIMIT per metric: past it (agents beyond the label cap share a child but
  // not a key) calls take prom-client's own path, so the caches never grow with traffic.
  private readonly httpSeries = new Map<RouteFamily, Map<number, { count: CounterSeries; duration: HistogramSeries }>>();
  private httpCount = 0;
  private readonly invokeSeries = new Map<string, Map<string, Map<string, HistogramSeries>>>();
  private invokeCount = 0;

  /** One HTTP response. */
  http(pathname: string, status: number, seconds: number): void {
    const family = routeFamily(pathname);
    let byStatus = this.httpSeries.get(family);
    if (!byStatus) this.httpSeries.set(family, (byStatus = new Map()));
    let c = byStatus.get(status);
    if (!c) {
      c = { count: new CounterSeries(this.httpRequests, { family, status: String(status) }), duration: new HistogramSeries(this.httpDuration, { family }) };
      if (this.httpCount < SERIES_CACHE_LIMIT) {
        byStatus.set(status, c);
        this.httpCount++;
      }
    }
    c.count.inc();
    c.duration.observe(seconds);
  }

  /** One backend call; `agentName` names it (slug) the first time it is seen. */
  invocation(agentId: string, agentName: () => string, source: string, outcome: string, seconds: number): void {
    let bySource = this.invokeSeries.get(agentId);
    if (!bySource) {
      if (this.invokeCount >= SERIES_CACHE_LIMIT) return this.uncachedInvocation(agentId, agentName, source, outcome, seconds);
      this.invokeSeries.set(agentId, (bySource = new Map()));
    }
    let byOutcome = bySource.get(source);
    if (!byOutcome) bySource.set(source, (byOutcome = new Map()));
    let c = byOutcome.get(outcome);
    if (!c) {
      if (this.invokeCount >= SERIES_CACHE_LIMIT) return this.uncachedInvocation(agentId, agentName, source, outcome, seconds);
      c = new HistogramSeries(this.invokeDuration, { agent: this.agents.of(agentId, agentName), source, outcome });
      byOutcome.set(outcome, c);
      this.invokeCount++;
    }
    c.observe(seconds);
  }

  private uncachedInvocation(agentId: string, agentName: () => string, source: string, outcome: string, seconds: number): void {
    this.invokeDuration.observe({ agent: this.agents.of(agentId, agentName), source, outcome }, seconds);
  }

  /** Label tuples cached for http() and invocation() (each), for tests. */
  get cachedSeries(): { http: number; invoke: number } {
    return { http: this.httpCount, invoke: this.invokeCount };
  }

  /** One HTTP attempt to the model server. */
  modelCall(call: { model: string; ok: boolean; tokensIn: number; tokensOut: number; latencyMs: number }): void {
    const model = this.models.of(call.model);
    this.modelCalls.inc({ model, outcome: call.ok ? "ok" : "error" });
    if (call.tokensIn) this.modelTokens.inc({ model, direction: "prompt" }, call.tokensIn);
    if (call.tokensOut) this.modelTokens.inc({ model, direction: "completion" }, call.tokensOut);
    this.modelDuration.observe({ model }, call.latencyMs / 1000);
  }

  /** One job attempt settled. */
  job(kind: string, outcome: string, seconds: number): void {
    this.jobDuration.observe({ kind, outcome }, seconds);
  }

  /** One outbound request from a backend. */
  egressRequest(outcome: "allowed" | "refused" | "failed" | "fixture"): void {
    this.egress.inc({ outcome });
  }

  /** The last line of defence caught something. */
  uncaughtError(kind: "exception" | "rejection"): void {
    this.uncaught.inc({ kind });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
