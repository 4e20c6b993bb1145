/**
 * The one place a backend's schedule is stored: set (validated by schedule-policy.ts, next
 * run computed in the schedule's time zone), read, and removed. Builders, builder
 * conversations, generation and `PUT/DELETE /v1/agents/{id}/schedule` all go through it.
 */
import { eq } from "drizzle-orm";
import type { Db, Tx } from "../db";
import { schedules } from "../db/schema";
import { DEFAULT_TIMEZONE, parseSchedule, validateSchedule } from "./schedule-policy";

/** A schedule as callers give it. `mode`: always_on (every occurrence) or one_time (first occurrence only). */
export interface ScheduleInput {
  cron: string;
  timezone?: string;
  mode?: "always_on" | "one_time";
}

export type ScheduleRow = typeof schedules.$inferSelect;

/** The schedule as the API shows it. */
export function scheduleView(s: ScheduleRow) {
  return {
    cron: s.cron,
    timezone: s.timezone,
    mode: s.mode,
    enabled: s.enabled,
    nextRunAt: s.nextRunAt === null ? null : new Date(s.nextRunAt).toISOString(),
    lastRunAt: s.lastRunAt === null ? null : new Date(s.lastRunAt).toISOString(),
  };
}

export class Schedules {
  constructor(private deps: { db: Db; /** CANTRIP_SCHEDULE_MIN_INTERVAL_S in ms */ minIntervalMs: number }) {}

  /** Throws 400 invalid_request unless the schedule is acceptable. */
  check(input: ScheduleInput, field = "schedule"): void {
    validateSchedule(input.cron, this.deps.minIntervalMs, field, input.timezone ?? DEFAULT_TIMEZONE);
  }

  /** Validates and stores (replacing any previous schedule); returns the stored row. */
  async set(agentId: string, input: ScheduleInput, tx?: Tx): Promise<ScheduleRow> {
    this.check(input);
    const timezone = input.timezone ?? DEFAULT_TIMEZONE;
    const mode = input.mode ?? "always_on";
    const next = parseSchedule(input.cron, timezone).nextRun()?.getTime() ?? null;
    const values = { cron: input.cron, mode, timezone, enabled: true, nextRunAt: next };
    const write = async (t: Tx) => (await t.insert(schedules).values({ agentId, ...values }).onConflictDoUpdate({ target: schedules.agentId, set: values }).returning())[0]!;
    return tx ? write(tx) : this.deps.db.tx(write);
  }

  async get(agentId: string): Promise<ScheduleRow | undefined> {
    return (await this.deps.db.select().from(schedules).where(eq(schedules.agentId, agentId)).limit(1))[0];
  }

  /** Removes the schedule; returns whether there was one. */
  async clear(agentId: string): Promise<boolean> {
    return this.deps.db.tx(async (t) => (await t.delete(schedules).where(eq(schedules.agentId, agentId)).returning()).length > 0);
  }
}
