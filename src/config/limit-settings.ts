/**
 * The sandbox limit settings: for each per-call limit, a server default
 * (`CANTRIP_SANDBOX_<NAME>`, `--sandbox-<name>`) and an operator maximum that no agent may
 * exceed (`CANTRIP_SANDBOX_MAX_<NAME>`, `--sandbox-max-<name>`). Generated from one table
 * so the two stay paired; src/agents/limits.ts turns them into the runtime's policy.
 */
import { Type as T, type TInteger } from "@sinclair/typebox";
import type { SettingSpec } from "./schema";

const MB = 1024 * 1024;

/** [suffix, ENV, flag, public limit name, default, default maximum, lowest, highest, doc]. */
const table = [
  ["CpuMs", "CPU_MS", "cpu-ms", "cpuMs", 1000, 10_000, 10, 600_000, "CPU time per call, in ms"],
  ["WallMs", "WALL_MS", "wall-ms", "wallMs", 10_000, 60_000, 100, 110_000, "wall-clock time per call, in ms"],
  ["InstanceMemoryMb", "INSTANCE_MEMORY_MB", "instance-memory-mb", "memoryMb", 64, 256, 8, 4096, "memory of one sandbox instance, in MB"],
  ["ResponseBytes", "RESPONSE_BYTES", "response-bytes", "responseBytes", 5 * MB, 16 * MB, 1024, 256 * MB, "response body size, in bytes"],
  ["LogLines", "LOG_LINES", "log-lines", "logLines", 200, 2000, 0, 100_000, "console lines kept per call"],
  ["LogBytes", "LOG_BYTES", "log-bytes", "logBytes", 64 * 1024, MB, 0, 16 * MB, "console bytes kept per call"],
  ["FetchPerCall", "FETCH_PER_CALL", "fetch-per-call", "fetchPerCall", 20, 100, 0, 1000, "outbound ctx.fetch requests per call"],
  ["FetchTimeoutMs", "FETCH_TIMEOUT_MS", "fetch-timeout-ms", "fetchTimeoutMs", 5000, 30_000, 100, 110_000, "time for one outbound fetch, in ms"],
  ["FetchMaxBytes", "FETCH_MAX_BYTES", "fetch-max-bytes", "fetchMaxBytes", 2 * MB, 16 * MB, 1024, 256 * MB, "size of one outbound response, in bytes"],
  ["Timers", "TIMERS", "timers", "timers", 1000, 1000, 0, 1000, "pending timers per call (at most 1000, the guest's own cap)"],
] as const;

type Row = (typeof table)[number];
export type LimitSettingKey = `sandbox${Row[0]}` | `sandboxMax${Row[0]}`;

/** key → setting, defaults first then maxima. */
export const limitSettings = Object.fromEntries(
  table.flatMap(([suffix, env, flag, , def, max, lo, hi, doc]) => [
    [`sandbox${suffix}`, { env: `CANTRIP_SANDBOX_${env}`, flag: `sandbox-${flag}`, kind: "int", min: lo, max: hi, default: def, doc: `Default limit: ${doc}. Agents may set their own, up to the maximum.` }],
    [`sandboxMax${suffix}`, { env: `CANTRIP_SANDBOX_MAX_${env}`, flag: `sandbox-max-${flag}`, kind: "int", min: lo, max: hi, default: max, doc: `Operator maximum: ${doc}; no agent may be set higher.` }],
  ]),
) as Record<LimitSettingKey, SettingSpec>;

export const limitSettingsSchema = Object.fromEntries(Object.keys(limitSettings).map((k) => [k, T.Integer()])) as Record<LimitSettingKey, TInteger>;

/** Public limit name → (default, maximum) from a loaded config. */
export function limitValues(config: Record<LimitSettingKey, number>): { defaults: Record<string, number>; maxima: Record<string, number> } {
  const defaults: Record<string, number> = {};
  const maxima: Record<string, number> = {};
  for (const [suffix, , , name] of table) {
    defaults[name] = config[`sandbox${suffix}`];
    maxima[name] = config[`sandboxMax${suffix}`];
  }
  return { defaults, maxima };
}

/** A default above its maximum is a start-up error: the message names both variables. */
export function limitSettingProblem(config: Record<LimitSettingKey, number>): string | null {
  for (const [suffix, env] of table) {
    const d = config[`sandbox${suffix}`];
    const m = config[`sandboxMax${suffix}`];
    if (d > m) return `CANTRIP_SANDBOX_${env} (${d}) is above CANTRIP_SANDBOX_MAX_${env} (${m}); raise the maximum or lower the default`;
  }
  return null;
}
