/**
 * The server's background loops (src/health/loop.ts does the running, failure reports and
 * runNow): the invocation-log flush, key last-used times, the workspace count, retention,
 * and the scheduler's tick and error-rate monitor. Started by src/boot.ts once its control
 * plane is built.
 */
import { countWorkspaces, type AgentKeys } from "./auth";
import type { Scheduler } from "./builder";
import type { Config } from "./config";
import type { Db } from "./db";
import { choreInterval, claimChore } from "./db/pg-cluster";
import type { InvocationLog } from "./gateway";
import { startLoop, type HealthCounters, type Loop, type LoopTrigger } from "./health";
import type { Logger } from "./http/logger";
import type { Tenancy } from "./lib/tenancy";
import type { Pruner } from "./retention";

/** Every background loop the server runs, by the name its failures are logged and counted under. */
export type LoopName = "invocation-log" | "key-usage" | "scheduler" | "error-rate-monitor" | "retention" | "tenancy";

/** What the loops work on. */
export interface ServerLoopDeps {
  db: Db;
  config: Pick<Config, "retentionIntervalS">;
  invocations: InvocationLog;
  keys: AgentKeys;
  tenancy: Tenancy;
  scheduler: Scheduler;
  pruner: Pruner;
  health: { logger: Logger; counters: HealthCounters };
}

/**
 * Starts the loops into `loops` (by name). `scheduler: false` leaves out the scheduler's two
 * (tests drive it by hand); `intervalsMs` overrides periods (ms) by name (tests use short ones).
 */
export function startServerLoops(loops: Map<LoopName, Loop>, d: ServerLoopDeps, opts: { scheduler?: boolean; intervalsMs?: Partial<Record<LoopName, number>> } = {}): void {
  const { counters, logger } = d.health;
  const every = (name: LoopName, ms: number) => opts.intervalsMs?.[name] ?? ms;
  const loop = (name: LoopName, ms: number, body: (trigger: LoopTrigger) => unknown) => loops.set(name, startLoop(name, every(name, ms), body, d.health));
  /**
   * A chore that must run once per interval cluster-wide, not once per node: a timer run goes
   * ahead only on the node that claims the chore's singleton row (src/db/pg-cluster.ts; always
   * on SQLite, one node); runNow (tests, operators) always runs.
   */
  const clusterChore = (name: LoopName, ms: number, body: () => unknown) =>
    loop(name, ms, async (trigger) => {
      if (trigger === "timer" && !(await claimChore(d.db, name, choreInterval(every(name, ms))))) return;
      await body();
    });
  const retentionPass = async () => {
    const r = await d.pruner.prune();
    counters.rowsPruned += r.invocations + r.logs;
    counters.jobsPruned += r.jobs;
    counters.pagesFreed += r.pagesFreed;
    counters.dbBytes = await d.pruner.dbBytes();
    if (r.invocations || r.logs || r.jobs || r.versions || r.pagesFreed)
      logger.info("retention", { invocationsPruned: r.invocations, logsPruned: r.logs, jobsPruned: r.jobs, versionsPruned: r.versions, pagesFreed: r.pagesFreed, dbBytes: counters.dbBytes, rowsDropped: counters.rowsDropped });
  };
  // Per node: each node flushes what it buffered itself (invocation rows, key last-used times)
  // and keeps its own view of the workspace count (a read).
  loop("invocation-log", 200, () => d.invocations.flush());
  loop("key-usage", 5000, () => d.keys.flushUsage());
  loop("tenancy", 5000, async () => d.tenancy.setWorkspaceCount(await countWorkspaces(d.db)));
  clusterChore("retention", d.config.retentionIntervalS * 1000, retentionPass);
  if (opts.scheduler !== false) {
    // Every node ticks: each due occurrence is claimed by a compare-and-set (Scheduler.tick).
    loop("scheduler", 1000, () => d.scheduler.tick());
    clusterChore("error-rate-monitor", 60_000, () => d.scheduler.monitor());
  }
}
