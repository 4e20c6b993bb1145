/**
 * References from one worked example to an earlier one's response, so a plan can create a
 * resource and then read, change and delete it in the same run:
 * `{{examples.NAME.body.PATH}}` (a dot path into that example's JSON response body) and
 * `{{examples.NAME.status}}`. A string that is exactly one reference becomes the referenced
 * value with its JSON type; a reference inside a longer string is spliced in as text.
 *
 * The plan (model output) decides how often a reference occurs and the backend how large
 * the response it quotes is, so what the references of one example add up to, as JSON
 * text, is capped at MAX_EXPANSION_CHARS: 300 references to a 2 MB field built a 600 MB
 * request in the host process.
 */

export const TEMPLATE = /\{\{\s*examples\.([^.}\s]+)\.(status|body)(?:\.([^}\s]*))?\s*\}\}/g;

/** What earlier examples answered, by example name. */
export type Responses = Map<string, { status: number; body: unknown }>;

export class TemplateError extends Error {}

/** Characters the references of one example may add, counted as JSON text: 1 MiB. */
export const MAX_EXPANSION_CHARS = 1024 * 1024;

/** What one resolution has spent; values are measured once per reference text. */
interface Expansion {
  left: number;
  sizes: Map<string, number>;
}

function charge(x: Expansion, ref: string, v: unknown): void {
  let n = x.sizes.get(ref);
  if (n === undefined) x.sizes.set(ref, (n = typeof v === "string" ? v.length : (JSON.stringify(v)?.length ?? 0)));
  x.left -= n;
  if (x.left < 0) throw new TemplateError(`the references in this example expand to more than ${MAX_EXPANSION_CHARS} characters (${ref} is ${n}); quote small fields, not whole large responses`);
}

function lookup(responses: Responses, name: string, part: string, path: string | undefined): unknown {
  const r = responses.get(name);
  if (!r) throw new TemplateError(`{{examples.${name}...}} refers to an example that has not run before this one (examples run in order)`);
  if (part === "status") return r.status;
  let cur: unknown = r.body;
  for (const key of (path ?? "").split(".").filter(Boolean)) {
    if (cur === null || typeof cur !== "object" || !(key in (cur as object))) {
      throw new TemplateError(`{{examples.${name}.body.${path}}}: the response of ${name} has no ${path} (it was ${JSON.stringify(r.body)?.slice(0, 200)})`);
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** `value` with every reference replaced; throws TemplateError naming a bad reference. */
export function resolveTemplates<T>(value: T, responses: Responses, x: Expansion = { left: MAX_EXPANSION_CHARS, sizes: new Map() }): T {
  if (typeof value === "string") {
    const whole = new RegExp(`^${TEMPLATE.source}$`).exec(value);
    if (whole) {
      const v = lookup(responses, whole[1]!, whole[2]!, whole[3]);
      charge(x, whole[0], v);
      return v as T;
    }
    return value.replace(TEMPLATE, (m, name: string, part: string, path?: string) => {
      const v = lookup(responses, name, part, path);
      charge(x, m, v);
      return typeof v === "string" ? v : JSON.stringify(v);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, responses, x)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, responses, x)])) as T;
  }
  return value;
}
