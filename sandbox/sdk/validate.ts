/**
 * A small JSON Schema validator for the subset `t` emits (type, properties, required,
 * additionalProperties, items, anyOf, enum, const, string/number/array bounds, pattern,
 * common formats). It fills `default`s, coerces query/path strings when asked, and
 * returns per-field issues in the platform's FieldIssue shape.
 */
import type { Schema } from "./schema";

export interface Issue {
  field: string;
  rule: string;
  message: string;
}

const FORMATS: Record<string, RegExp> = {
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  date: /^\d{4}-\d{2}-\d{2}$/,
  "date-time": /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i,
  uri: /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*$/,
};

const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function matchesType(type: string, v: unknown): boolean {
  if (type === "integer") return Number.isInteger(v);
  if (type === "number") return typeof v === "number" && Number.isFinite(v);
  return typeOf(v) === type;
}

function coerce(s: Schema, v: unknown): unknown {
  if (typeof v !== "string") return v;
  if ((s.type === "number" || s.type === "integer") && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  if (s.type === "boolean" && (v === "true" || v === "false")) return v === "true";
  return v;
}

/** Validates (and fills defaults into) `value`; returns the possibly updated value and issues. */
export function validate(s: Schema, value: unknown, opts: { coerce?: boolean } = {}): { value: unknown; issues: Issue[] } {
  const issues: Issue[] = [];
  const out = checkerFor(s)(value, "", issues, opts.coerce ?? false);
  return { value: out, issues };
}

/** Checks `v` at `path` against one schema, pushing issues; returns the (coerced, defaulted) value. */
type Checker = (v: unknown, path: string, issues: Issue[], doCoerce: boolean) => unknown;

/**
 * Each schema object's checker, compiled on its first use (issue 15: a route's input schema
 * is walked once, not on every call; a sub-schema's checker is made when first reached, so
 * a schema that refers to itself compiles too). A schema changed after its first use keeps
 * the checker of what it was then.
 */
const checkers = new WeakMap<Schema, Checker>();

function checkerFor(s: Schema): Checker {
  let c = checkers.get(s);
  if (!c) {
    c = compile(s);
    checkers.set(s, c);
  }
  return c;
}

/** Records an issue at `path` (the whole body when empty). */
function issue(issues: Issue[], path: string, rule: string, message: string): void {
  issues.push({ field: path || "(body)", rule, message });
}

/** The checker of one schema: the same rules, in the same order and with the same messages, as the schema read on every call. */
function compile(s: Schema): Checker {
  const anyOf = s.anyOf as Schema[] | undefined;
  const hasConst = "const" in s;
  const constant = s.const;
  const constMsg = hasConst ? `must be ${JSON.stringify(s.const)}` : "";
  const en = s.enum as unknown[] | undefined;
  const enumMsg = en ? `must be one of ${en.map((x) => JSON.stringify(x)).join(", ")}` : "";
  const type = s.type;
  const typeMsg = type ? `must be ${type === "integer" ? "an integer" : `a${/^[aeiou]/.test(type) ? "n" : ""} ${type}`}` : "";
  // Made on the first string it tests: a pattern that is not a valid RegExp throws only where it did before.
  let pattern: RegExp | undefined;
  const format = s.format ? FORMATS[s.format] : undefined;
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const propNames = Object.keys(props);
  const required = s.required as string[] | undefined;
  const extra = s.additionalProperties;
  // Only these make the undeclared keys' loop do anything (any other value allows them as they are).
  const checksExtra = extra === false || (!!extra && typeof extra === "object");
  // Each property's checker, looked up when its value first comes (as before), then kept here instead of read from the WeakMap per call.
  const propCheckers: (Checker | undefined)[] = [];
  // Which kinds of bounds this schema has at all (read once: most schemas have none, and each
  // absent one was a property lookup per call).
  const stringRules = s.minLength !== undefined || s.maxLength !== undefined || !!s.pattern || !!format;
  const numberRules = s.minimum !== undefined || s.maximum !== undefined || s.exclusiveMinimum !== undefined || s.exclusiveMaximum !== undefined || s.multipleOf !== undefined;
  return function check(v, path, issues, doCoerce) {
    if (doCoerce) v = coerce(s, v);
    if (anyOf) {
      for (const alt of anyOf) {
        const sub: Issue[] = [];
        const r = checkerFor(alt)(v, path, sub, doCoerce);
        if (!sub.length) return r;
      }
      issue(issues, path, "anyOf", "must match one of the allowed shapes");
      return v;
    }
    if (hasConst && v !== constant) return issue(issues, path, "const", constMsg), v;
    if (en && !en.includes(v)) return issue(issues, path, "enum", enumMsg), v;
    if (type && !matchesType(type, v)) return issue(issues, path, "type", typeMsg), v;
    if (typeof v === "string") {
      if (!stringRules) return v;
      if (s.minLength !== undefined && v.length < s.minLength) issue(issues, path, "minLength", `must be at least ${s.minLength} characters`);
      if (s.maxLength !== undefined && v.length > s.maxLength) issue(issues, path, "maxLength", `must be at most ${s.maxLength} characters`);
      if (s.pattern) {
        pattern ??= new RegExp(s.pattern);
        // Matched from the start on every call, as a RegExp made per call was: a global or sticky
        // pattern's lastIndex must not carry one call's input into the next call's check.
        pattern.lastIndex = 0;
        if (!pattern.test(v)) issue(issues, path, "pattern", `must match ${s.pattern}`);
      }
      if (format && !format.test(v)) issue(issues, path, "format", `must be a valid ${s.format}`);
    } else if (typeof v === "number") {
      if (!numberRules) return v;
      if (s.minimum !== undefined && v < s.minimum) issue(issues, path, "minimum", `must be >= ${s.minimum}`);
      if (s.maximum !== undefined && v > s.maximum) issue(issues, path, "maximum", `must be <= ${s.maximum}`);
      if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) issue(issues, path, "exclusiveMinimum", `must be > ${s.exclusiveMinimum}`);
      if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) issue(issues, path, "exclusiveMaximum", `must be < ${s.exclusiveMaximum}`);
      if (s.multipleOf !== undefined && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) issue(issues, path, "multipleOf", `must be a multiple of ${s.multipleOf}`);
    } else if (Array.isArray(v)) {
      if (s.minItems !== undefined && v.length < s.minItems) issue(issues, path, "minItems", `must have at least ${s.minItems} items`);
      if (s.maxItems !== undefined && v.length > s.maxItems) issue(issues, path, "maxItems", `must have at most ${s.maxItems} items`);
      if (s.items) {
        const item = checkerFor(s.items);
        for (let i = 0; i < v.length; i++) v[i] = item(v[i], `${path}[${i}]`, issues, doCoerce);
      }
    } else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (let i = 0; i < propNames.length; i++) {
        const k = propNames[i]!;
        const p = props[k]!;
        const sub = path ? `${path}.${k}` : k;
        if (o[k] === undefined) {
          if (p.default !== undefined) o[k] = structuredClone(p.default);
          else if (required?.includes(k)) issues.push({ field: sub, rule: "required", message: "is required" });
          continue;
        }
        o[k] = (propCheckers[i] ??= checkerFor(p))(o[k], sub, issues, doCoerce);
      }
      if (checksExtra) for (const k of Object.keys(o)) {
        // Own keys only: a body key named like an Object.prototype member ("constructor",
        // "toString") is an undeclared key like any other, not a declared property.
        if (Object.hasOwn(props, k)) continue;
        const sub = path ? `${path}.${k}` : k;
        if (extra === false) issues.push({ field: sub, rule: "additionalProperties", message: "is not allowed" });
        else if (extra && typeof extra === "object") o[k] = checkerFor(extra as Schema)(o[k], sub, issues, doCoerce);
      }
    }
    return v;
  };
}
