/**
 * The invocation log: one row per call, and the guest's console lines, collected in memory
 * and written in batches (one transaction per flush) so the hot path never waits on SQLite.
 */
import { and, desc, eq, gte, lt } from "drizzle-orm";
import type { Db } from "../db";
import { agentLogs, invocations } from "../db/schema";
import type { GuestLogLine } from "../runtime/types";
import { pageOf, type Page } from "../lib/pagination";
import { iso } from "../lib/time";

export type InvocationInsert = typeof invocations.$inferInsert;

export class InvocationLog {
  private rows: InvocationInsert[] = [];
  private logs: (typeof agentLogs.$inferInsert)[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private db: Db, private opts: { flushMs?: number; maxBuffer?: number; onRecord?: (row: InvocationInsert) => void } = {}) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.opts.flushMs ?? 200);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }

  record(row: InvocationInsert, lines: GuestLogLine[] = []): void {
    this.rows.push(row);
    this.opts.onRecord?.(row);
    for (const l of lines)
      this.logs.push({ agentId: row.agentId, invocationRequestId: row.requestId ?? null, level: l.level, message: l.message, at: l.at });
    if (this.rows.length + this.logs.length >= (this.opts.maxBuffer ?? 2000)) this.flush();
  }

  flush(): number {
    if (!this.rows.length && !this.logs.length) return 0;
    const rows = this.rows;
    const logs = this.logs;
    this.rows = [];
    this.logs = [];
    this.db.transaction((tx) => {
      for (let i = 0; i < rows.length; i += 200) tx.insert(invocations).values(rows.slice(i, i + 200)).run();
      for (let i = 0; i < logs.length; i += 200) tx.insert(agentLogs).values(logs.slice(i, i + 200)).run();
    });
    return rows.length;
  }

  list(agentId: string, page: Page) {
    const cursor = page.cursor ? Number(page.cursor.replace(/^inv_/, "")) : null;
    const rows = this.db
      .select()
      .from(invocations)
      .where(and(eq(invocations.agentId, agentId), cursor ? lt(invocations.id, cursor) : undefined))
      .orderBy(desc(invocations.id))
      .limit(page.limit + 1)
      .all();
    const p = pageOf(rows, page.limit, (r) => `inv_${r.id}`);
    return {
      data: p.data.map((r) => ({
        id: `inv_${r.id}`,
        agentId: r.agentId,
        version: r.version,
        keyId: r.keyId,
        source: r.source,
        method: r.method,
        path: r.path,
        status: r.status,
        latencyMs: r.latencyMs,
        errorCode: r.errorCode,
        requestId: r.requestId,
        at: iso(r.at),
      })),
      nextCursor: p.nextCursor,
    };
  }

  recentLogs(agentId: string, limit: number) {
    return this.db
      .select()
      .from(agentLogs)
      .where(eq(agentLogs.agentId, agentId))
      .orderBy(desc(agentLogs.id))
      .limit(limit)
      .all()
      .map((l) => ({ level: l.level, message: l.message, requestId: l.invocationRequestId, at: iso(l.at) }));
  }

  /** Count, error rate and latency percentiles over the last `windowMs`. */
  metrics(agentId: string, windowMs: number, now = Date.now()) {
    const rows = this.db
      .select({ status: invocations.status, latencyMs: invocations.latencyMs, errorCode: invocations.errorCode })
      .from(invocations)
      .where(and(eq(invocations.agentId, agentId), gte(invocations.at, now - windowMs)))
      .orderBy(desc(invocations.id))
      .limit(100_000)
      .all();
    const lat = rows.map((r) => r.latencyMs).sort((a, b) => a - b);
    const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)]! : null);
    const errors = rows.filter((r) => r.errorCode !== null || r.status >= 500).length;
    return {
      windowMs,
      count: rows.length,
      errors,
      errorRate: rows.length ? errors / rows.length : 0,
      latencyMs: { p50: pct(50), p95: pct(95), p99: pct(99) },
    };
  }
}
