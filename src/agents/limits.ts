/**
 * Per-call sandbox limits as the operator and agents see them. The operator sets server
 * defaults and maxima (settings `CANTRIP_SANDBOX_*` and `CANTRIP_SANDBOX_MAX_*`); an agent
 * may set its own values on create (`POST /v1/agents`) or later (`PATCH /v1/agents/{id}`),
 * each at most the operator's maximum. What a call runs with is the agent's value, else
 * the server default, clamped to the maximum (so lowering a maximum also caps agents that
 * were set higher before). Public names use plain units (ms, MB, bytes, counts); the
 * runtime's `Limits` keeps memory in bytes.
 */
import { invalidRequest, type FieldIssue } from "../errors";
import { defaultLimits, type Limits } from "../runtime/types";

/** One configurable limit: its public name, the runtime field, the unit factor, and absolute bounds. */
export interface LimitField {
  name: LimitName;
  key: keyof Limits;
  /** runtime value = public value × factor (MB → bytes). */
  factor: number;
  min: number;
  /** Hard ceiling no setting may pass (the guest's own caps, wasm32 memory). */
  ceiling: number;
  unit: string;
  doc: string;
}

export type LimitName = "cpuMs" | "wallMs" | "memoryMb" | "responseBytes" | "logLines" | "logBytes" | "fetchPerCall" | "fetchTimeoutMs" | "fetchMaxBytes" | "timers";

const MB = 1024 * 1024;

/** The limits an operator and an agent may set, in display order. */
export const limitFields: readonly LimitField[] = [
  { name: "cpuMs", key: "cpuMs", factor: 1, min: 10, ceiling: 600_000, unit: "ms", doc: "CPU time per call" },
  { name: "wallMs", key: "wallMs", factor: 1, min: 100, ceiling: 110_000, unit: "ms", doc: "wall-clock time per call (below the HTTP idle timeout of 120 s)" },
  { name: "memoryMb", key: "memoryBytes", factor: MB, min: 8, ceiling: 4096, unit: "MB", doc: "memory of one sandbox instance" },
  { name: "responseBytes", key: "responseBytes", factor: 1, min: 1024, ceiling: 256 * MB, unit: "bytes", doc: "response body size" },
  { name: "logLines", key: "logLines", factor: 1, min: 0, ceiling: 100_000, unit: "lines", doc: "console lines kept per call" },
  { name: "logBytes", key: "logBytes", factor: 1, min: 0, ceiling: 16 * MB, unit: "bytes", doc: "console bytes kept per call" },
  { name: "fetchPerCall", key: "fetchPerCall", factor: 1, min: 0, ceiling: 1000, unit: "requests", doc: "outbound ctx.fetch requests per call" },
  { name: "fetchTimeoutMs", key: "fetchTimeoutMs", factor: 1, min: 100, ceiling: 110_000, unit: "ms", doc: "time for one outbound fetch" },
  { name: "fetchMaxBytes", key: "fetchMaxBytes", factor: 1, min: 1024, ceiling: 256 * MB, unit: "bytes", doc: "size of one outbound response" },
  { name: "timers", key: "timers", factor: 1, min: 0, ceiling: 1000, unit: "timers", doc: "pending timers per call (the guest's own cap is 1000)" },
];

/** Public-unit values, e.g. { cpuMs: 2000, memoryMb: 128 }. */
export type PublicLimits = Partial<Record<LimitName, number>>;

/** The operator's side: server defaults and maxima, both in runtime units. */
export interface LimitPolicy {
  defaults: Partial<Limits>;
  maxima: Partial<Limits>;
}

/** No operator settings: the built-in defaults, capped only by each field's ceiling. */
export const builtInPolicy: LimitPolicy = {
  defaults: {},
  maxima: Object.fromEntries(limitFields.map((f) => [f.key, f.ceiling * f.factor])),
};

/** Builds the policy from public-unit defaults and maxima (the settings). */
export function limitPolicy(defaults: PublicLimits, maxima: PublicLimits): LimitPolicy {
  const d: Partial<Limits> = {};
  const m: Partial<Limits> = {};
  for (const f of limitFields) {
    if (defaults[f.name] !== undefined) d[f.key] = defaults[f.name]! * f.factor;
    if (maxima[f.name] !== undefined) m[f.key] = maxima[f.name]! * f.factor;
  }
  return { defaults: d, maxima: m };
}

/** What a call of an agent with these stored overrides runs with. */
export function effectiveLimits(overrides: Partial<Limits> | null | undefined, policy: LimitPolicy = builtInPolicy): Limits {
  const out: Limits = { ...defaultLimits, ...policy.defaults, ...(overrides ?? {}) };
  for (const f of limitFields) {
    const max = policy.maxima[f.key];
    if (max !== undefined && out[f.key] > max) out[f.key] = max;
  }
  return out;
}

/** Runtime units → public units, for the fields in limitFields only. */
export function toPublic(limits: Partial<Limits> | null | undefined): PublicLimits {
  const out: PublicLimits = {};
  if (!limits) return out;
  for (const f of limitFields) {
    const v = limits[f.key];
    if (typeof v === "number") out[f.name] = Math.floor(v / f.factor);
  }
  return out;
}

/**
 * Checks a request's `limits` object against each field's bounds and the operator's
 * maxima and merges it over the agent's stored overrides. A null value removes the
 * override (back to the server default). Throws 400 invalid_request naming every bad
 * field (`limits.<name>`), e.g. an unknown name, a fraction, or a value over the maximum.
 */
export function applyLimitInput(current: Partial<Limits> | null | undefined, input: unknown, policy: LimitPolicy = builtInPolicy): Partial<Limits> {
  const issues: FieldIssue[] = [];
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw invalidRequest([{ field: "limits", rule: "type", message: "limits must be an object" }]);
  const next: Partial<Limits> = { ...(current ?? {}) };
  for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
    const f = limitFields.find((x) => x.name === name);
    const field = `limits.${name}`;
    if (!f) {
      issues.push({ field, rule: "unknown", message: `unknown limit; settable limits are ${limitFields.map((x) => x.name).join(", ")}` });
      continue;
    }
    if (value === null) {
      delete next[f.key];
      continue;
    }
    if (typeof value !== "number" || !Number.isInteger(value)) {
      issues.push({ field, rule: "type", message: `must be a whole number of ${f.unit}, or null for the server default` });
      continue;
    }
    const max = Math.floor((policy.maxima[f.key] ?? f.ceiling * f.factor) / f.factor);
    if (value < f.min) issues.push({ field, rule: "minimum", message: `must be at least ${f.min} ${f.unit}` });
    else if (value > max) issues.push({ field, rule: "maximum", message: `must be at most ${max} ${f.unit} (the operator's maximum)` });
    else next[f.key] = value * f.factor;
  }
  if (issues.length) throw invalidRequest(issues);
  return next;
}
