/**
 * Turns an incoming request into a route's input, the way real callers send it:
 * - the query string (GET, HEAD, DELETE, OPTIONS): repeated keys become an array where the
 *   schema says array — `?tag=a&tag=b`, `?tag[]=a&tag[]=b`, `?tag=a,b` (OpenAPI's
 *   `style: form` with and without `explode`) and `?tag=["a","b"]` all give `["a","b"]`,
 *   and one value gives a one-element array; elsewhere the first value wins, as
 *   `URLSearchParams.get` does;
 * - the body, by its `Content-Type`: JSON (`application/json`, `*+json`, or none),
 *   `application/x-www-form-urlencoded` (Slack, Twilio, Stripe-style webhooks) and
 *   `multipart/form-data` as fields (same array rule; file parts as `File`s),
 *   `text/*` as a string, anything else as the raw bytes (`Uint8Array`); JSON mislabelled
 *   by common clients (curl -d, fetch with a string body) is still read as JSON.
 * The request's body is read without being consumed: `ctx.request.text()` /
 * `arrayBuffer()` still give the exact bytes (signature checks need them).
 */
import { TextDecoder, TextEncoder } from "../shims/encoding";
import { urlLibs, type URLSearchParams } from "../shims/url";
import type { File } from "../shims/blob";
import { mediaType, parseMultipart } from "../shims/formdata";
import type { Schema } from "./schema";

/** Thrown for a body that does not parse as its declared type; answered as 400. */
export class BodyError extends Error {
  constructor(readonly code: "invalid_json" | "invalid_request", message: string) {
    super(message);
  }
}

const MAX_JSON_DEPTH = 256;

type Field = string | File;

const isArraySchema = (s: Schema | undefined): boolean =>
  !!s && (s.type === "array" || (Array.isArray(s.anyOf) && s.anyOf.some((a: Schema) => a?.type === "array")));

/** Name/value pairs → an object; `key[]` and array-typed keys collect every value. `loose`: query-string spellings of arrays too. */
export function fieldsToInput(pairs: Iterable<[string, Field]>, schema: Schema | undefined, loose: boolean): Record<string, unknown> {
  const props = (schema?.properties ?? {}) as Record<string, Schema>;
  const out: Record<string, unknown> = {};
  const lists = new Map<string, Field[]>();
  for (const [rawKey, value] of pairs) {
    const bracket = rawKey.endsWith("[]");
    const key = bracket ? rawKey.slice(0, -2) : rawKey;
    if (bracket || isArraySchema(props[key])) {
      let list = lists.get(key);
      if (!list) lists.set(key, (list = []));
      list.push(value);
    } else if (!(key in out)) out[key] = value;
  }
  for (const [key, list] of lists) {
    const only = list.length === 1 ? list[0] : undefined;
    if (loose && typeof only === "string" && only.startsWith("[")) {
      try {
        const parsed = JSON.parse(only);
        if (Array.isArray(parsed)) {
          out[key] = parsed;
          continue;
        }
      } catch {}
    }
    out[key] = loose && typeof only === "string" && only.includes(",") ? only.split(",") : list;
  }
  return out;
}

/** The query string as a route's input. */
export function queryInput(params: URLSearchParams, schema: Schema | undefined): Record<string, unknown> {
  return fieldsToInput(params as unknown as Iterable<[string, string]>, schema, true);
}

const utf8 = (raw: string | Uint8Array): string => (typeof raw === "string" ? raw : new TextDecoder().decode(raw));

/** The last Content-Type bodyInput parsed, and its parse. */
let lastType: { header: string | null | undefined; parsed: ReturnType<typeof mediaType> } = { header: undefined, parsed: { type: "", params: {} } };

/**
 * The body as input: `{ value, coerce }` where `coerce` says field strings may be coerced to
 * the schema's numbers and booleans (forms), or throws BodyError. `raw` is the stored body.
 */
export function bodyInput(raw: string | Uint8Array | null, contentType: string | null, schema: Schema | undefined): { value: unknown; coerce: boolean } {
  if (raw === null || (typeof raw === "string" ? raw.trim() === "" : raw.byteLength === 0)) return { value: {}, coerce: false };
  // (Most calls of a backend carry the same Content-Type: its parse is kept for the next one; bodyInput only reads it.)
  if (contentType !== lastType.header) lastType = { header: contentType, parsed: mediaType(contentType) };
  const { type, params } = lastType.parsed;
  if (type === "" || type === "application/json" || type.endsWith("+json") || looksLikeJson(raw, type, schema)) {
    const text = utf8(raw);
    if (typeof raw !== "string" && text.trim() === "") return { value: {}, coerce: false };
    if (tooDeep(text)) throw new BodyError("invalid_json", `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
    try {
      return { value: JSON.parse(text), coerce: false };
    } catch (e) {
      throw new BodyError("invalid_json", `The request body is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (type === "application/x-www-form-urlencoded")
    return { value: fieldsToInput(new (urlLibs().URLSearchParams)(utf8(raw)) as unknown as Iterable<[string, string]>, schema, false), coerce: true };
  if (type === "multipart/form-data") {
    if (!params.boundary) throw new BodyError("invalid_request", "multipart/form-data without a boundary parameter");
    return { value: fieldsToInput(multipart(typeof raw === "string" ? new TextEncoder().encode(raw) : raw, params.boundary), schema, false), coerce: true };
  }
  if (type.startsWith("text/")) return { value: utf8(raw), coerce: false };
  return { value: typeof raw === "string" ? new TextEncoder().encode(raw) : raw.slice(), coerce: false };
}

/**
 * JSON sent under the wrong label: `curl -d '{…}'` labels it form-urlencoded (a real form
 * encoder percent-encodes `{` and `[`, so a raw one means JSON), and `fetch(url, { body:
 * JSON.stringify(x) })` labels it text/plain — taken as JSON only when the route's input is
 * not itself a string.
 */
function looksLikeJson(raw: string | Uint8Array, type: string, schema: Schema | undefined): boolean {
  if (type !== "application/x-www-form-urlencoded" && !(type.startsWith("text/") && schema && schema.type !== "string")) return false;
  const first = typeof raw === "string" ? raw.trimStart()[0] : String.fromCharCode(raw.find((b) => b !== 32 && b !== 9 && b !== 10 && b !== 13) ?? 0);
  return first === "{" || first === "[";
}

/** RFC 7578 multipart/form-data → [name, value] pairs (file parts as the Web platform's File). */
export function multipart(body: Uint8Array, boundary: string): [string, Field][] {
  try {
    return [...parseMultipart(body, boundary)];
  } catch (e) {
    throw new BodyError("invalid_request", (e as Error).message);
  }
}

/** Deep nesting overflows the native stack inside JSON.parse; reject it before parsing. */
function tooDeep(text: string): boolean {
  if (text.length < MAX_JSON_DEPTH * 2) return false;
  let depth = 0,
    inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++;
      else if (c === 34) inStr = false;
    } else if (c === 34) inStr = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
