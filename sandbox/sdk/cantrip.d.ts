/**
 * The "cantrip" module: the SDK every cantrip backend imports. Backends run in a sandbox
 * with Web-standard globals only: Request, Response, Headers, URL, URLSearchParams,
 * TextEncoder, TextDecoder, atob, btoa, structuredClone, crypto.randomUUID,
 * crypto.getRandomValues, console.*, setTimeout/clearTimeout, queueMicrotask and fetch.
 * There is no process, Bun, require, filesystem or other module: import only "cantrip".
 *
 * Limits (per call, set by the operator): CPU time (default 1 s), wall-clock time including
 * awaited fetch/kv calls (10 s), memory (64 MB), response size (5 MB), log volume, outbound
 * fetches per call. A backend that exceeds one is stopped and its caller gets a 5xx.
 */
declare module "cantrip" {
  // ---- Schemas: a TypeBox-compatible subset that produces plain JSON Schema ----
  interface TSchema { [key: string]: unknown; static?: unknown }
  type Opts = Record<string, unknown>;
  interface TOptional<T extends TSchema> extends TSchema { static?: Static<T>; "~optional": true }
  type Static<T> = T extends { static?: infer S } ? S : unknown;
  type Simplify<T> = { [K in keyof T]: T[K] } & {};
  type OptionalKeys<P> = { [K in keyof P]: P[K] extends { "~optional": true } ? K : never }[keyof P];
  type ObjectStatic<P extends Record<string, TSchema>> = Simplify<
    { [K in Exclude<keyof P, OptionalKeys<P>>]: Static<P[K]> } & { [K in OptionalKeys<P>]?: Static<P[K]> }
  >;
  interface TOf<S> extends TSchema { static?: S }

  /** Schema builder. String options: minLength, maxLength, pattern, format ("email" | "uuid" | "date" | "date-time" | "uri"), default.
   *  Number/Integer options: minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, default. Array options: minItems, maxItems.
   *  Object option: additionalProperties (false rejects unknown fields). Any schema accepts description/default. */
  export const t: {
    String(o?: Opts): TOf<string>;
    Number(o?: Opts): TOf<number>;
    Integer(o?: Opts): TOf<number>;
    Boolean(o?: Opts): TOf<boolean>;
    Null(o?: Opts): TOf<null>;
    Any(o?: Opts): TOf<any>;
    Unknown(o?: Opts): TOf<unknown>;
    Literal<V extends string | number | boolean>(value: V, o?: Opts): TOf<V>;
    Array<T extends TSchema>(items: T, o?: Opts): TOf<Static<T>[]>;
    Object<P extends Record<string, TSchema>>(properties: P, o?: Opts): TOf<ObjectStatic<P>>;
    Record<V extends TSchema>(key: TOf<string>, value: V, o?: Opts): TOf<Record<string, Static<V>>>;
    Union<T extends TSchema[]>(anyOf: [...T], o?: Opts): TOf<Static<T[number]>>;
    Enum<V extends string | number>(values: readonly V[] | Record<string, V>, o?: Opts): TOf<V>;
    Nullable<T extends TSchema>(s: T, o?: Opts): TOf<Static<T> | null>;
    Optional<T extends TSchema>(s: T): TOptional<T>;
  };
  /** Alias of `t`, for code written against TypeBox's `Type`. */
  export const Type: typeof t;

  // ---- Errors ----
  /** Throw to answer with `status` and `{ "error": { "code", "message", "details"? } }`. */
  export class HttpError extends Error {
    constructor(status: number, message?: string, opts?: { code?: string; details?: unknown });
    readonly status: number;
    readonly code: string;
    readonly details?: unknown;
  }

  // ---- ctx ----
  interface Kv {
    /** The stored JSON value, or undefined. */
    get<T = unknown>(key: string): Promise<T | undefined>;
    /** Stores a JSON value (max 256 KB per value and 16 MB per agent by default; over the limit rejects). */
    set(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<boolean>;
    /** Keys in order; pass the returned cursor to get the next page (null when done). */
    list(opts?: { prefix?: string; limit?: number; cursor?: string }): Promise<{ keys: string[]; cursor: string | null }>;
  }
  interface Secrets {
    /** Names of the secrets granted to this agent. Values never enter the sandbox. */
    names(): string[];
    has(name: string): boolean;
    /** The placeholder `{{secret:NAME}}`. Put it in an outbound request's header value, e.g.
     *  `headers: { authorization: "Bearer " + ctx.secrets.ref("CRM_TOKEN") }`; the egress proxy replaces it
     *  with the value, only for hosts the secret is approved for (otherwise the fetch rejects).
     *  Placeholders in URLs or bodies are not substituted. */
    ref(name: string): string;
  }
  type LogFn = (...args: unknown[]) => void;
  export interface Context {
    /** The incoming request (undefined-free: null only in scheduled runs). */
    request: Request;
    /** Path parameters (`/items/:id` → { id }), as strings. */
    params: Record<string, string>;
    /** Query parameters (first value of each). */
    query: Record<string, string>;
    /** Plain configuration values set for this agent. */
    env: Record<string, string>;
    kv: Kv;
    /** fetch through the egress proxy: only hosts this agent declares; redirects are returned, not followed;
     *  time and size limited (5 s, 2 MB by default). Same as the global fetch. */
    fetch: typeof fetch;
    secrets: Secrets;
    /** Captured log lines, shown in the agent's logs. */
    log: LogFn & { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };
    agentId: string;
  }
  export interface ScheduledContext extends Omit<Context, "request"> {
    request: null;
  }

  // ---- Backend ----
  export interface Route<I extends TSchema | undefined = undefined, O extends TSchema | undefined = undefined> {
    summary?: string;
    description?: string;
    /** Validated before handle runs (invalid → 400 with field errors). GET/DELETE read it from the query
     *  string (numbers and booleans coerced); other methods from the JSON body. Path params declared in the
     *  schema are merged into the input. */
    input?: I;
    /** Documents the response (OpenAPI); the value handle returns is sent as JSON with status 200. */
    output?: O;
    /** Return a JSON-serializable value (200), undefined (204), or a Response. Throw HttpError for 4xx/5xx. */
    handle(input: I extends TSchema ? Static<I> : Record<string, string>, ctx: Context): Promise<(O extends TSchema ? Static<O> : unknown) | Response | void> | (O extends TSchema ? Static<O> : unknown) | Response | void;
  }
  export interface BackendSpec {
    /** Keys are "METHOD /path" with :params, e.g. "GET /items/:id", "POST /" (what /v1/invoke/{slug} calls). */
    routes: Record<string, Route<any, any> | ((input: any, ctx: Context) => unknown)>;
    /** For scheduled agents: runs on the agent's schedule. */
    scheduled?: (ctx: ScheduledContext) => Promise<void> | void;
  }
  export interface Backend {
    fetch(request: Request): Promise<Response>;
    describe(): { routes: { method: string; path: string; summary?: string; input?: unknown; output?: unknown }[]; scheduled: boolean };
  }
  /** The module's default export: `export default defineBackend({ routes: { ... } })`. */
  export function defineBackend<const S extends BackendSpec>(spec: S & { routes: { [K in keyof S["routes"]]: S["routes"][K] } }): Backend;
  /** Helper that infers a route's input/output types from its schemas. */
  export function route<I extends TSchema | undefined = undefined, O extends TSchema | undefined = undefined>(r: Route<I, O>): Route<I, O>;
}
