/**
 * A small JSON Schema checker for the subset the SDK's `t` builder and model-written specs
 * use (type, properties, required, additionalProperties, items, enum, const, anyOf/oneOf,
 * string/number/array bounds, nullable unions). Used host-side to check backend outputs
 * against their declared schemas; returns every issue with a JSON-pointer-ish path.
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

export function checkSchema(schema: unknown, value: unknown, path = "", out: SchemaIssue[] = [], depth = 0): SchemaIssue[] {
  if (depth > 64 || !schema || typeof schema !== "object") return out;
  const s = schema as Schema;
  const at = path || "/";
  if (s.anyOf || s.oneOf) {
    const alts = (s.anyOf ?? s.oneOf) as unknown[];
    if (!alts.some((a) => checkSchema(a, value, path, [], depth + 1).length === 0)) out.push({ path: at, message: "does not match any allowed shape" });
    return out;
  }
  if (s.allOf) for (const a of s.allOf as unknown[]) checkSchema(a, value, path, out, depth + 1);
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value)) out.push({ path: at, message: `must equal ${JSON.stringify(s.const)}` });
  if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value)))
    out.push({ path: at, message: `must be one of ${JSON.stringify(s.enum)}` });
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
    if (typeof s.pattern === "string") {
      try {
        if (!new RegExp(s.pattern, "u").test(value)) out.push({ path: at, message: `does not match ${s.pattern}` });
      } catch {}
    }
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) out.push({ path: at, message: `less than ${s.minimum}` });
    if (typeof s.maximum === "number" && value > s.maximum) out.push({ path: at, message: `greater than ${s.maximum}` });
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) out.push({ path: at, message: `fewer than ${s.minItems} items` });
    if (typeof s.maxItems === "number" && value.length > s.maxItems) out.push({ path: at, message: `more than ${s.maxItems} items` });
    if (s.items && typeof s.items === "object") value.forEach((v, i) => checkSchema(s.items, v, `${path}/${i}`, out, depth + 1));
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in obj)) out.push({ path: `${path}/${r}`, message: "is required" });
    const props = (s.properties as Record<string, unknown> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) checkSchema(props[k], v, `${path}/${k}`, out, depth + 1);
      else if (s.additionalProperties === false) out.push({ path: `${path}/${k}`, message: "is not allowed" });
      else if (s.additionalProperties && typeof s.additionalProperties === "object") checkSchema(s.additionalProperties, v, `${path}/${k}`, out, depth + 1);
    }
  }
  return out;
}
