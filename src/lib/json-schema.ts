/**
 * A small JSON Schema checker for the subset the SDK's `t` builder and model-written specs
 * use (type, properties, required, additionalProperties, items, enum, const, anyOf/oneOf,
 * string/number/array bounds, nullable unions). Used host-side to check backend outputs
 * against their declared schemas; returns every issue with a JSON-pointer-ish path.
 *
 * Both the schema and the value come from backend code, so the check is bounded (threat
 * model, promise 1): a `pattern` is not evaluated on the host (a backend's regular
 * expression backtracks on the event loop: "^(a*)*b$" costs ~330 ms per string in
 * JavaScriptCore), `enum` and `const` are compared through a set built once per schema and
 * one serialisation per value, and the whole check stops after CHECK_BUDGET steps with an
 * issue saying so (anyOf nests, and schema × value is a product) or after MAX_ISSUES issues.
 */
export interface SchemaIssue {
  path: string;
  message: string;
}

type Schema = Record<string, any>;

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === "number" && actual === "integer");
}

/** Issues one check lists; past them it stops (the caller quotes a few anyway). */
export const MAX_ISSUES = 1000;

/** Steps one check may take (a step: one schema node applied to one value). */
export const CHECK_BUDGET = 1_000_000;

/** The state one check shares across its recursion. */
interface CheckRun {
  left: number;
  exhausted: boolean;
  /** One serialisation per object value (enum/const compare by JSON text). */
  texts: WeakMap<object, string>;
}

/** The JSON texts of an `enum` array and its excerpt for messages, built once per schema node. */
const enums = new WeakMap<unknown[], { texts: Set<string>; shown: string }>();

function textOf(v: unknown, run: CheckRun): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "undefined";
  let t = run.texts.get(v);
  if (t === undefined) run.texts.set(v, (t = JSON.stringify(v) ?? "undefined"));
  return t;
}

/** A message excerpt of a schema keyword's value (enum lists can be long). */
const shown = (v: unknown) => {
  const t = JSON.stringify(v) ?? "undefined";
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
};

function enumOf(values: unknown[]) {
  let e = enums.get(values);
  if (!e) enums.set(values, (e = { texts: new Set(values.map((x) => JSON.stringify(x) ?? "undefined")), shown: shown(values) }));
  return e;
}

/**
 * Every way `value` breaks `schema`, as issues with paths ("/" is the value itself);
 * [] when it conforms. `pattern` is not checked (see above). A check that runs out of
 * its CHECK_BUDGET steps ends with the issue "the declared schema is too costly to check".
 */
export function checkSchema(schema: unknown, value: unknown, path = "", out: SchemaIssue[] = [], depth = 0): SchemaIssue[] {
  const run: CheckRun = { left: CHECK_BUDGET, exhausted: false, texts: new WeakMap() };
  walk(schema, value, path, out, depth, run);
  if (run.exhausted) out.push({ path: path || "/", message: `the declared schema is too costly to check against this value (over ${CHECK_BUDGET} steps)` });
  return out;
}

function walk(schema: unknown, value: unknown, path: string, out: SchemaIssue[], depth: number, run: CheckRun): SchemaIssue[] {
  if (depth > 64 || !schema || typeof schema !== "object" || out.length >= MAX_ISSUES) return out;
  if (--run.left < 0) {
    run.exhausted = true;
    return out;
  }
  const s = schema as Schema;
  const at = path || "/";
  if (s.anyOf || s.oneOf) {
    const alts = (s.anyOf ?? s.oneOf) as unknown[];
    if (!Array.isArray(alts)) return out;
    if (!alts.some((a) => walk(a, value, path, [], depth + 1, run).length === 0) && !run.exhausted) out.push({ path: at, message: "does not match any allowed shape" });
    return out;
  }
  if (Array.isArray(s.allOf)) for (const a of s.allOf as unknown[]) walk(a, value, path, out, depth + 1, run);
  if (s.const !== undefined && JSON.stringify(s.const) !== textOf(value, run)) out.push({ path: at, message: `must equal ${shown(s.const)}` });
  if (Array.isArray(s.enum)) {
    const e = enumOf(s.enum);
    if (!e.texts.has(textOf(value, run))) out.push({ path: at, message: `must be one of ${e.shown}` });
  }
  if (s.type !== undefined) {
    const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => matchesType(value, t))) {
      out.push({ path: at, message: `expected ${types.join(" or ")}, got ${typeOf(value)}` });
      return out;
    }
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) out.push({ path: at, message: `shorter than ${s.minLength}` });
    if (typeof s.maxLength === "number" && value.length > s.maxLength) out.push({ path: at, message: `longer than ${s.maxLength}` });
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) out.push({ path: at, message: `less than ${s.minimum}` });
    if (typeof s.maximum === "number" && value > s.maximum) out.push({ path: at, message: `greater than ${s.maximum}` });
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) out.push({ path: at, message: `fewer than ${s.minItems} items` });
    if (typeof s.maxItems === "number" && value.length > s.maxItems) out.push({ path: at, message: `more than ${s.maxItems} items` });
    if (s.items && typeof s.items === "object") value.forEach((v, i) => walk(s.items, v, `${path}/${i}`, out, depth + 1, run));
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const r of Array.isArray(s.required) ? (s.required as string[]) : []) if (!Object.hasOwn(obj, r)) out.push({ path: `${path}/${r}`, message: "is required" });
    const props = (s.properties as Record<string, unknown> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (Object.hasOwn(props, k)) walk(props[k], v, `${path}/${k}`, out, depth + 1, run);
      else if (s.additionalProperties === false) out.push({ path: `${path}/${k}`, message: "is not allowed" });
      else if (s.additionalProperties && typeof s.additionalProperties === "object") walk(s.additionalProperties, v, `${path}/${k}`, out, depth + 1, run);
    }
  }
  return out;
}
