/**
 * The "cantrip" SDK as backend code sees it: `import { defineBackend, t, HttpError, route } from "cantrip"`.
 * Backends run in a sandbox whose global scope has ECMAScript's built-ins plus exactly these
 * Web APIs, as the standards define them:
 * Web globals: AbortController, AbortSignal, Blob, ByteLengthQueuingStrategy,
 * CountQueuingStrategy, CryptoKey, DOMException, Event, EventTarget, File, FormData, Headers,
 * ReadableStream, Request, Response, TextDecoder, TextEncoder, TransformStream, URL,
 * URLSearchParams, WritableStream, atob, btoa, clearInterval, clearTimeout, console, crypto,
 * fetch, performance, queueMicrotask, setInterval, setTimeout, structuredClone.
 * Notes: crypto.subtle is the full Web Crypto API (digest, HMAC, RSA up to 4096 bits, ECDSA,
 * Ed25519, AES, PBKDF2, HKDF, ECDH/X25519).
 * `request.body`/`response.body` are ReadableStreams; a response whose body is a stream is
 * sent as it is produced on /apps (server-sent events work; the wall limit covers the whole
 * stream) and read to its end first on /v1/invoke. Intl and toLocaleString work (default time zone UTC).
 * There is no SharedArrayBuffer, WebSocket or XMLHttpRequest. There is no process, Bun,
 * Buffer, require, filesystem or other module: import only "cantrip".
 *
 * Limits per call (operator defaults, per-agent overrides): CPU 1 s, wall clock 10 s including
 * awaited fetch/kv calls, memory 64 MB, response 5 MB, 200 log lines / 64 KB, 20 outbound
 * fetches (5 s, 2 MB each), 1000 pending timers. A backend that exceeds one is stopped and its
 * caller gets a 502/504. Outbound fetch does not follow redirects (the 3xx is returned).
 */

/** A JSON Schema built with `t`; `Static<S>` is the TypeScript type it describes. */
export interface TSchema<T = unknown> {
  readonly __static?: T;
  [keyword: string]: unknown;
}
export type Static<S> = S extends TSchema<infer T> ? T : never;
type Optional<S extends TSchema> = S & { readonly __optional: true };
type OptionalKeys<P> = { [K in keyof P]: P[K] extends { readonly __optional: true } ? K : never }[keyof P];
type RequiredKeys<P> = Exclude<keyof P, OptionalKeys<P>>;
type ObjectOf<P extends Record<string, TSchema>> = { [K in RequiredKeys<P>]: Static<P[K]> } & { [K in OptionalKeys<P>]?: Static<P[K]> };

/** JSON Schema keywords accepted as options: minLength, maxLength, pattern, format, minimum, maximum, minItems, maxItems, default, description... */
export type SchemaOptions = Record<string, unknown>;

/** The schema builder (TypeBox-compatible subset). Emits plain JSON Schema. */
export declare const t: {
  String(opts?: SchemaOptions): TSchema<string>;
  Number(opts?: SchemaOptions): TSchema<number>;
  Integer(opts?: SchemaOptions): TSchema<number>;
  Boolean(opts?: SchemaOptions): TSchema<boolean>;
  Null(opts?: SchemaOptions): TSchema<null>;
  Any(opts?: SchemaOptions): TSchema<any>;
  Unknown(opts?: SchemaOptions): TSchema<unknown>;
  Literal<V extends string | number | boolean>(value: V, opts?: SchemaOptions): TSchema<V>;
  Array<S extends TSchema>(items: S, opts?: SchemaOptions): TSchema<Static<S>[]>;
  Object<P extends Record<string, TSchema>>(properties: P, opts?: SchemaOptions): TSchema<ObjectOf<P>>;
  Record<V extends TSchema>(key: TSchema<string>, value: V, opts?: SchemaOptions): TSchema<Record<string, Static<V>>>;
  Union<S extends TSchema[]>(anyOf: [...S], opts?: SchemaOptions): TSchema<Static<S[number]>>;
  Enum<V extends string | number>(values: readonly V[], opts?: SchemaOptions): TSchema<V>;
  Nullable<S extends TSchema>(schema: S, opts?: SchemaOptions): TSchema<Static<S> | null>;
  /** Marks an object property as optional. */
  Optional<S extends TSchema>(schema: S): Optional<S>;
};

/** Throw to answer with an error status: `{ "error": { "code", "message", "details"? } }`. */
export declare class HttpError extends Error {
  constructor(status: number, message?: string, opts?: { code?: string; details?: unknown });
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
}

/** Per-backend persistent JSON store (values up to the agent's kvValueBytes; total kvTotalBytes). */
export interface KV {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(opts?: { prefix?: string; limit?: number; cursor?: string }): Promise<{ keys: string[]; cursor: string | null }>;
}

/**
 * Credentials granted to this backend, by name. Values never enter the sandbox: put
 * `ctx.secrets.ref("NAME")` (the placeholder `{{secret:NAME}}`) into an outbound header
 * value, and the platform's egress proxy substitutes the value — only for hosts the
 * credential is approved for.
 */
export interface Secrets {
  names(): string[];
  has(name: string): boolean;
  ref(name: string): string;
}

export interface Log {
  (...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface Context {
  /**
   * The incoming request (null in scheduled runs). Its body is not consumed by the SDK:
   * `await ctx.request.text()` / `arrayBuffer()` give the exact bytes the caller sent
   * (verify webhook signatures over these).
   */
  request: Request | null;
  /** Path parameters (`/items/:id` → `ctx.params.id`). */
  params: Record<string, string>;
  /** Query string values; for a repeated key, the first value (as `URLSearchParams.get`). */
  query: Record<string, string>;
  /** The whole query string: `ctx.searchParams.getAll("tag")` for every value of a repeated key. */
  searchParams: URLSearchParams;
  /** Plain configuration values given to the backend. */
  env: Record<string, string>;
  kv: KV;
  /** Outbound HTTP through the egress proxy: only to hosts the backend declared. */
  fetch: typeof fetch;
  secrets: Secrets;
  log: Log;
  agentId: string;
}

export interface RouteDef<I extends TSchema = TSchema, O extends TSchema = TSchema> {
  summary?: string;
  description?: string;
  /**
   * Input schema. Invalid input is answered with 400 before `handle` runs.
   * - GET/HEAD/DELETE/OPTIONS: the query string, values coerced to the declared types. A
   *   property declared `t.Array(...)` collects a repeated key: `?tag=a&tag=b`,
   *   `?tag[]=a&tag[]=b`, `?tag=a,b` and `?tag=["a","b"]` all give `["a","b"]`; one value
   *   gives a one-element array (send a value that contains a comma as `?tag=["a,b"]`).
   * - POST/PUT/PATCH: the body, by its Content-Type: `application/json` (or none) → the
   *   parsed JSON; `application/x-www-form-urlencoded` and `multipart/form-data` → an object
   *   of fields (strings coerced to declared numbers/booleans, repeated or `key[]` fields as
   *   arrays, file parts as File-like objects with `name`, `type`, `size`, `text()`,
   *   `arrayBuffer()`, `bytes()`); `text/*` → the text as a string (JSON text is parsed when
   *   the input is not declared as a string); anything else → the raw bytes (`Uint8Array`).
   * Path parameters are also copied into the input when the schema declares them.
   */
  input?: I;
  /** Output schema (documents the response; the platform checks worked examples against it). */
  output?: O;
  /** Return a JSON value (200), a Response, or undefined (204); throw HttpError for errors. */
  handle: (input: Static<I>, ctx: Context) => Static<O> | Response | undefined | Promise<Static<O> | Response | undefined>;
}

export interface BackendSpec {
  /** Keys are `"METHOD /path"`, paths may have `:params`: `"GET /items/:id"`. */
  routes: Record<string, RouteDef<any, any> | ((input: any, ctx: Context) => unknown)>;
  /** Runs on the backend's cron schedule (no request; `ctx.request` is null). */
  scheduled?: (ctx: Context) => unknown | Promise<unknown>;
}

export interface Backend {
  fetch(request: Request): Promise<Response>;
  scheduled?: () => Promise<unknown>;
  describe(): { routes: { method: string; path: string; summary?: string; input?: unknown; output?: unknown }[]; scheduled: boolean };
}

export declare function defineBackend(spec: BackendSpec): Backend;

/**
 * Identity helper that lets TypeScript infer `handle`'s input and output types from the
 * route's schemas: `"POST /": route({ input: t.Object({ a: t.Number() }), handle: async ({ a }) => ... })`.
 */
export declare function route<I extends TSchema = TSchema, O extends TSchema = TSchema>(def: RouteDef<I, O>): RouteDef<I, O>;

/** Alias of `t` for code written against TypeBox's `Type`. */
export declare const Type: typeof t;
