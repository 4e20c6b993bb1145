/**
 * What a backend's schedule may be: a standard 5-field cron expression (minute, hour,
 * day of month, month, day of week) or a nickname such as `@hourly`, read by croner in its
 * "5-part" mode — so no seconds field and no year field — that fires at all (`0 0 30 2 *`
 * never does), whose runs are never closer together than the operator's minimum interval
 * (CANTRIP_SCHEDULE_MIN_INTERVAL_S, default 60 s), read in an IANA time zone (default
 * UTC). Every place that accepts a schedule calls `validateSchedule`; the scheduler also
 * keeps rows stored before this rule from running more often than the minimum.
 */
import { Cron, CronPattern } from "croner";
import { AppError } from "../errors";

/** The default time zone of a schedule. */
export const DEFAULT_TIMEZONE = "UTC";

/** Parses a schedule in `timezone` (IANA name); throws croner's error for anything that is not 5-part cron. */
export function parseSchedule(expr: string, timezone = DEFAULT_TIMEZONE): Cron {
  return new Cron(expr, { paused: true, mode: "5-part", timezone });
}

/**
 * Reads a row stored before the 5-part rule (it may have a seconds field), for the
 * scheduler only: croner's default mode, in the row's time zone (UTC when the row's zone
 * is unknown to this runtime). Throws when even that cannot parse it.
 */
export function parseStoredSchedule(expr: string, timezone = DEFAULT_TIMEZONE): Cron {
  return new Cron(expr, { paused: true, timezone: isTimeZone(timezone) ? timezone : DEFAULT_TIMEZONE });
}

/** True when `tz` is an IANA time zone name this runtime knows (as `Intl` and croner read it). */
export function isTimeZone(tz: string): boolean {
  if (!tz || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The shortest gap, in ms, that the minute and hour fields of a 5-part expression allow
 * between two runs: the smallest step between run times within a day, and from the last
 * run of a day to the first of the next. It ignores the day fields (it assumes two
 * consecutive days may both run), so it never overestimates.
 */
export function shortestInterval(expr: string): number {
  const p = new CronPattern(expr, undefined, { mode: "5-part" });
  const times: number[] = [];
  for (let h = 0; h < 24; h++) {
    if (!p.hour[h]) continue;
    for (let m = 0; m < 60; m++) if (p.minute[m]) times.push(h * 60 + m);
  }
  if (!times.length) return Infinity;
  let shortest = 24 * 60 - (times[times.length - 1]! - times[0]!);
  for (let i = 1; i < times.length; i++) shortest = Math.min(shortest, times[i]! - times[i - 1]!);
  return shortest * 60_000;
}

/**
 * Throws 400 `invalid_request` (naming `field`) unless `expr` is a 5-part cron expression
 * (or nickname) that fires at least once, with runs at least `minIntervalMs` apart, in a
 * known IANA `timezone`.
 */
export function validateSchedule(expr: string, minIntervalMs: number, field = "schedule", timezone = DEFAULT_TIMEZONE): void {
  const fail = (message: string, rule: string, on = field): never => {
    throw new AppError("invalid_request", `${on}: ${message}`, { details: [{ field: on, rule, message }] });
  };
  if (!isTimeZone(timezone)) fail(`"${timezone}" is not an IANA time zone name (e.g. "UTC", "Europe/Berlin", "America/New_York")`, "TimeZone", "timezone");
  const fields = expr.trim().split(/\s+/).length;
  if (!expr.trim().startsWith("@") && fields > 5) fail(`"${expr}" has ${fields} fields; schedules use the 5 standard cron fields (minute hour day-of-month month day-of-week), without seconds or years`, "Cron");
  let cron: Cron | undefined;
  try {
    cron = parseSchedule(expr, timezone);
  } catch (e) {
    fail(`not a valid cron expression (${(e as Error).message})`, "Cron");
  }
  if (!cron!.nextRun()) fail(`"${expr}" never runs (no date matches it)`, "NeverRuns");
  const gap = shortestInterval(expr);
  if (gap < minIntervalMs) fail(`"${expr}" can run every ${formatMs(gap)}; schedules may run at most once every ${formatMs(minIntervalMs)}`, "MinInterval");
}

function formatMs(ms: number): string {
  const s = ms / 1000;
  if (s % 3600 === 0) return s === 3600 ? "hour" : `${s / 3600} hours`;
  if (s % 60 === 0) return s === 60 ? "minute" : `${s / 60} minutes`;
  return `${s} seconds`;
}
