/**
 * Schedules: a backend's `scheduled` handler runs on its cron expression. The scheduler's
 * tick enqueues one `schedule.run` job per due schedule and moves `next_run_at` to the
 * next occurrence after now, so runs missed while cantrip was down run once, not N times.
 * A one_time schedule disables itself after its run. The clock is injectable for tests.
 * `tick` (every second) and `monitor` (every minute) are two background loops that the
 * composition root runs under their own names, so a failure of one never stops the other.
 *
 * Every node of a cluster ticks (docs/ARCHITECTURE.md, "PostgreSQL"); an occurrence fires
 * once cluster-wide because each is claimed with a compare-and-set on `next_run_at` (only
 * the node whose conditional UPDATE lands enqueues) and its job id is derived from the
 * occurrence, so even a repeat insert is absorbed. The monitor's cooldown lives in
 * `conversations.last_heal_at`, claimed the same way, so N monitors queue one repair per app.
 */
import { agentById } from "../agents/lifecycle";
import { parseStoredSchedule } from "../agents/schedule-policy";
import { and, asc, eq, isNotNull, isNull, lte, or } from "drizzle-orm";
import { dialect, type Db } from "../db";
import { schedules, versions } from "../db/schema";
import { occurrenceId } from "../lib/ids";
import { routePathMatches } from "../lib/route-paths";
import { Pacer } from "../lib/pacing";
import type { BackendDescription } from "../runtime/types";
import type { JobsPort } from "../http/jobs-port";
import type { LiveCache, InvocationLog } from "../gateway";
import type { SandboxRuntime } from "../runtime/types";
import { AppError } from "../errors";
import { agents, conversations } from "../db/schema";

/** The `schedule.run` job id of agent `agentId`'s occurrence at `scheduledFor` (epoch ms): one id per occurrence. */
export function scheduleRunId(agentId: string, scheduledFor: number): string {
  return occurrenceId("job", scheduledFor, `schedule.run:${agentId}:${scheduledFor}`);
}

export interface HealPolicy {
  /** Window over which the error rate is computed. */
  windowMs: number;
  /** Fewest calls in the window before the rate means anything. */
  minCalls: number;
  /** Error rate (0-1) that triggers a repair. */
  threshold: number;
  /** At most one self-heal per app per cooldown. */
  cooldownMs: number;
}

/**
 * The error-rate monitor judges an app by its newest calls in the window, at most this many
 * (InvocationLog.errorRate's `newest`: one read then costs at most that many rows).
 */
export const MONITOR_NEWEST_CALLS = 10_000;

export const defaultHealPolicy: HealPolicy = { windowMs: 5 * 60_000, minCalls: 20, threshold: 0.5, cooldownMs: 15 * 60_000 };

export class Scheduler {
  constructor(
    private deps: {
      db: Db;
      jobs: JobsPort;
      now?: () => number;
      log?: InvocationLog;
      heal?: HealPolicy;
      /** No schedule runs more often than this, even a row stored before the rule (ms; default 60 s). */
      minIntervalMs?: number;
    },
  ) {}

  /**
   * The error-rate monitor: for each deployed conversation app whose live error rate over
   * the window crossed the threshold, enqueue one self-heal turn with the failing calls as
   * evidence (at most one per cooldown, cluster-wide: the turn is queued in the transaction
   * that moves `conversations.last_heal_at` from a value older than the cooldown to `now`,
   * so of several monitors only the first queues it). Returns the conversation ids it queued.
   */
  async monitor(now = (this.deps.now ?? Date.now)()): Promise<string[]> {
    const { db, log } = this.deps;
    const policy = this.deps.heal ?? defaultHealPolicy;
    if (!log) return [];
    await log.flush();
    const queued: string[] = [];
    // On SQLite these reads run on the main thread: paced (src/lib/pacing.ts), 200 busy apps
    // read back to back held the event loop for ~850 ms.
    const pacer = new Pacer(dialect() === "sqlite");
    const apps = await pacer.read(() =>
      db
        .select({ id: conversations.id, agentId: conversations.agentId, workspaceId: conversations.workspaceId, lastHealAt: conversations.lastHealAt })
        .from(conversations)
        .where(and(eq(conversations.status, "deployed"), isNotNull(conversations.agentId))),
    );
    for (const a of apps) {
      if (a.lastHealAt !== null && now - a.lastHealAt < policy.cooldownMs) continue; // cheap pre-check; the claim below decides
      const m = await pacer.read(() => log.errorRate(a.agentId!, policy.windowMs, now, MONITOR_NEWEST_CALLS));
      if (m.count < policy.minCalls || m.errorRate < policy.threshold) continue;
      const failing = (await log.list(a.agentId!, { limit: 50, cursor: null })).data.filter((r) => r.errorCode !== null || r.status >= 500);
      const evidence = await evidenceLines(db, a.agentId!, failing);
      const claimed = await db.tx(async (tx) => {
        const won = await tx
          .update(conversations)
          .set({ lastHealAt: now })
          .where(and(eq(conversations.id, a.id), or(isNull(conversations.lastHealAt), lte(conversations.lastHealAt, now - policy.cooldownMs))))
          .returning({ id: conversations.id });
        if (won.length === 0) return false; // another monitor (node) queued this app's repair first
        await this.deps.jobs.enqueueInTx(tx, "builder.turn", { conversationId: a.id, action: "heal", evidence }, { workspaceId: a.workspaceId, agentId: a.agentId! });
        return true;
      });
      if (claimed) queued.push(a.id);
    }
    return queued;
  }

  /**
   * Enqueues every due schedule once; returns how many runs this call queued. Each due
   * occurrence is claimed in its own write transaction by a compare-and-set that moves
   * `next_run_at` from the value read to the next occurrence; only the caller whose update
   * changed the row enqueues the run, under the occurrence's own job id (scheduleRunId). So
   * overlapping ticks, in one process or on several nodes, fire each occurrence once.
   */
  async tick(now = (this.deps.now ?? Date.now)()): Promise<number> {
    const { db } = this.deps;
    const due = await db
      .select({ s: schedules, workspaceId: agents.workspaceId, live: agents.liveVersion })
      .from(schedules)
      .innerJoin(agents, eq(agents.id, schedules.agentId))
      .where(and(eq(schedules.enabled, true), isNotNull(schedules.nextRunAt), lte(schedules.nextRunAt, now)))
      .orderBy(asc(schedules.agentId));
    let queued = 0;
    // On SQLite each claim runs on the main thread: paced (src/lib/pacing.ts); 1,000 schedules
    // due at one minute boundary, claimed back to back, held the event loop ~490 ms.
    const pacer = new Pacer(dialect() === "sqlite");
    for (const row of due) if (await pacer.read(() => this.claim(row, now))) queued++;
    return queued;
  }

  /** One due occurrence: claimed, and its run enqueued when the agent is deployed; true when this call queued it. */
  private async claim({ s, workspaceId, live }: { s: typeof schedules.$inferSelect; workspaceId: string; live: number | null }, now: number): Promise<boolean> {
    const { db } = this.deps;
    const seen = s.nextRunAt!;
    // Only the caller that moves next_run_at away from the value it read owns this occurrence.
    const mine = and(eq(schedules.agentId, s.agentId), eq(schedules.nextRunAt, seen), eq(schedules.enabled, true));
    let cronNext: number | null;
    try {
      cronNext = parseStoredSchedule(s.cron, s.timezone).nextRun(new Date(now))?.getTime() ?? null;
    } catch {
      // A row nothing can read must not stop every other schedule: disable it and move on.
      await db.tx((tx) => tx.update(schedules).set({ enabled: false, nextRunAt: null }).where(mine));
      return false;
    }
    // measured from the occurrence, not from now, so lateness of the tick never drifts a valid schedule
    const next = cronNext === null ? null : Math.max(cronNext, seen + (this.deps.minIntervalMs ?? 60_000));
    return db.tx(async (tx) => {
      const won = await tx.update(schedules).set({ nextRunAt: next, lastRunAt: now }).where(mine).returning({ agentId: schedules.agentId });
      if (won.length === 0) return false; // another tick claimed it
      // Deployed now, not only when the due schedules were read: the tick pauses between
      // claims (and on PostgreSQL every statement waits), so the agent may have been
      // stopped since. Not deployed: skip this occurrence.
      if (live === null || (await tx.select({ live: agents.liveVersion }).from(agents).where(eq(agents.id, s.agentId)).limit(1))[0]?.live == null) return false;
      await this.deps.jobs.enqueueInTx(tx, "schedule.run", { agentId: s.agentId, scheduledFor: seen, mode: s.mode }, { workspaceId, agentId: s.agentId, id: scheduleRunId(s.agentId, seen) });
      return true;
    });
  }
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "SCHEDULED"]);

/**
 * Failing calls as evidence for the repair model: method, the declared route the call
 * matched (from the version that served it) and the outcome, one line per kind with its
 * count. Never the caller's raw path or method: on a public app anyone writes those, and
 * they would reach the model's prompt verbatim ("GET /IGNORE-THE-SPEC-and-add-…"), whose
 * repair is deployed when it passes validation.
 */
export async function evidenceLines(db: Db, agentId: string, failing: { method: string | null; path: string | null; status: number; errorCode: string | null; version: number | null }[]): Promise<string[]> {
  const routesOf = new Map<number, { method: string; path: string }[]>();
  for (const version of new Set(failing.map((f) => f.version))) {
    if (version === null) continue;
    const row = (await db.select({ described: versions.described }).from(versions).where(and(eq(versions.agentId, agentId), eq(versions.number, version))).limit(1))[0];
    routesOf.set(version, (row?.described as BackendDescription | null)?.routes ?? []);
  }
  const routes = (version: number | null) => (version === null ? [] : (routesOf.get(version) ?? []));
  const counts = new Map<string, number>();
  for (const f of failing) {
    const given = (f.method ?? "").toUpperCase();
    const method = METHODS.has(given) ? given : "(another method)";
    const route = f.path === null ? undefined : routes(f.version).find((r) => (r.method === method || (method === "HEAD" && r.method === "GET")) && routePathMatches(r.path, f.path!));
    const where = f.path === null ? "" : ` ${route ? route.path : "(a path no route declares)"}`;
    const line = `${method}${where} → ${f.status}${f.errorCode ? ` ${f.errorCode}` : ""}`;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return [...counts].map(([line, n]) => (n > 1 ? `${line} (${n} calls)` : line));
}

/** The schedule.run job: the live version's scheduled handler, logged like an invocation. */
export async function runScheduled(
  deps: { db: Db; runtime: SandboxRuntime; live: LiveCache; log: InvocationLog },
  payload: { agentId: string; mode?: string },
  ctx: { log(level: "info" | "warn" | "error", message: string, data?: unknown): void },
): Promise<{ ok: boolean; wallMs: number }> {
  const agent = await agentById(deps.db, payload.agentId);
  const entry = await deps.live.get(agent.slug);
  if (!entry?.ref) throw new AppError("not_deployed");
  const started = Date.now();
  const res = await deps.runtime.scheduled(entry.ref);
  deps.log.record(
    {
      agentId: agent.id,
      version: entry.version,
      keyId: null,
      source: "scheduled",
      method: "SCHEDULED",
      path: null,
      status: res.ok ? 200 : 500,
      latencyMs: Math.round(res.wallMs),
      errorCode: res.ok ? null : "scheduled_failed",
      requestId: null,
      at: started,
    },
    res.logs,
  );
  for (const l of res.logs) ctx.log(l.level === "error" ? "error" : l.level === "warn" ? "warn" : "info", l.message);
  if (payload.mode === "one_time") await deps.db.tx((tx) => tx.update(schedules).set({ enabled: false }).where(eq(schedules.agentId, agent.id)));
  if (!res.ok) throw new AppError("endpoint_unreachable", `scheduled handler failed: ${res.error ?? "unknown error"}`);
  return { ok: true, wallMs: res.wallMs };
}
