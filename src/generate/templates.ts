/**
 * References from one worked example to an earlier one's response, so a plan can create a
 * resource and then read, change and delete it in the same run:
 * `{{examples.NAME.body.PATH}}` (a dot path into that example's JSON response body) and
 * `{{examples.NAME.status}}`. A string that is exactly one reference becomes the referenced
 * value with its JSON type; a reference inside a longer string is spliced in as text.
 */

export const TEMPLATE = /\{\{\s*examples\.([^.}\s]+)\.(status|body)(?:\.([^}\s]*))?\s*\}\}/g;

/** What earlier examples answered, by example name. */
export type Responses = Map<string, { status: number; body: unknown }>;

export class TemplateError extends Error {}

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
export function resolveTemplates<T>(value: T, responses: Responses): T {
  if (typeof value === "string") {
    const whole = new RegExp(`^${TEMPLATE.source}$`).exec(value);
    if (whole) return lookup(responses, whole[1]!, whole[2]!, whole[3]) as T;
    return value.replace(TEMPLATE, (_m, name: string, part: string, path?: string) => {
      const v = lookup(responses, name, part, path);
      return typeof v === "string" ? v : JSON.stringify(v);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, responses)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, responses)])) as T;
  }
  return value;
}
