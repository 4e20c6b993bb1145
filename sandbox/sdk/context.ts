/**
 * ctx: what a handler receives besides its input. kv and fetch go through the host
 * (agent-scoped there); secrets exposes names and placeholders only — the egress proxy
 * swaps `{{secret:NAME}}` in outbound header values for the real value, and only for the
 * hosts that secret is approved for. Every ctx is bound to the call it was made for: its
 * kv, fetch and log name that call to the host, wherever the code using them runs.
 */
import { hostCall } from "../shims/host";
import { fetchAs } from "../shims/fetch";
import { format } from "../shims/misc";
import { host } from "../shims/host";
import type { Request } from "../shims/body";
import { urlLibs, type URLSearchParams } from "../shims/url";

export interface AgentConfig {
  agentId: string;
  env: Record<string, string>;
  secrets: string[];
  /** "full": never take the lean calling convention (the host's AgentRuntimeConfig.dispatch). */
  dispatch?: string;
}

export const config: AgentConfig = { agentId: "", env: {}, secrets: [] };

/** The host's call id of each incoming request (set by the entry before the backend sees it). */
const callOfRequest = new WeakMap<object, number>();
/** The call being entered synchronously (a scheduled run, which has no request). */
let entering: number | undefined;

export function bindCall(req: Request, call: number): void {
  callOfRequest.set(req, call);
}

/** Runs fn with `call` as the call that request-less contexts made during it belong to. */
export function enterCall<T>(call: number, fn: () => T): T {
  const outer = entering;
  entering = call;
  try {
    return fn();
  } finally {
    entering = outer;
  }
}

function kvFor(call: number | undefined) {
  return {
    get: (key: string) => hostCall<unknown>("kv.get", { key }, undefined, call),
    set: (key: string, value: unknown) => {
      if (value === undefined) return Promise.reject(new TypeError("kv.set: value must be JSON (not undefined)"));
      return hostCall<void>("kv.set", { key, value }, undefined, call);
    },
    delete: (key: string) => hostCall<boolean>("kv.delete", { key }, undefined, call),
    list: (opts: { prefix?: string; limit?: number; cursor?: string } = {}) => hostCall<{ keys: string[]; cursor: string | null }>("kv.list", opts, undefined, call),
  };
}

const secrets = {
  names: () => [...config.secrets],
  has: (name: string) => config.secrets.includes(name),
  ref(name: string): string {
    if (!config.secrets.includes(name)) throw new Error(`secret ${name} is not granted to this agent`);
    return `{{secret:${name}}}`;
  },
};

function logFor(call: number | undefined) {
  const at = (level: string) => (...a: unknown[]) => host.log(level, format(a), call);
  const info = at("info");
  return Object.assign((...a: unknown[]) => info(...a), { debug: at("debug"), info, warn: at("warn"), error: at("error") });
}

/** `searchParams`: made on first read of ctx.searchParams (so a call that never reads it never loads the URL library). */
export function makeContext(request: Request | null, params: Record<string, string> = {}, query: Record<string, string> = {}, searchParams?: () => URLSearchParams) {
  const call = request ? callOfRequest.get(request) : entering;
  let sp: URLSearchParams | undefined;
  return {
    request, params, query,
    get searchParams(): URLSearchParams {
      return (sp ??= searchParams ? searchParams() : new (urlLibs().URLSearchParams)());
    },
    // Assignable, as the data property it replaced was.
    set searchParams(v: URLSearchParams) {
      sp = v;
    },
    env: { ...config.env }, kv: kvFor(call), fetch: fetchAs(call), secrets, log: logFor(call), agentId: config.agentId,
  };
}

type Made = { request?: Request; searchParams?: URLSearchParams; env?: Record<string, string>; kv?: ReturnType<typeof kvFor>; fetch?: ReturnType<typeof fetchAs>; log?: ReturnType<typeof logFor> };

/** A lazy ctx's own state: what its members are made from, and what was made or assigned. */
interface LazyState {
  call: number | undefined;
  request: () => Request;
  searchParams: () => URLSearchParams;
  /** No prototype: `in` sees only what was made here, never a name a library added to Object.prototype. */
  made: Made;
}

/** Each lazy ctx's state (the accessors are shared by every ctx, so they find it through their receiver). */
const lazyStates = new WeakMap<object, LazyState>();
const protoOf = Object.getPrototypeOf;
const createWith = Object.create;

/** The state of the lazy ctx `self` is or inherits from (a ctx used as a prototype answers as itself). */
function stateOf(self: unknown, name: string): LazyState {
  for (let o = self; o !== null && (typeof o === "object" || typeof o === "function"); o = protoOf(o)) {
    const s = lazyStates.get(o as object);
    if (s) return s;
  }
  throw new TypeError(`ctx.${name} was read from something that is not a ctx`);
}

/** A member made on its first read from the ctx's state, and assignable like a data property. */
function lazyMember<K extends keyof Made>(name: K, make: (s: LazyState) => Made[K]): PropertyDescriptor {
  return {
    get(this: unknown) {
      const s = stateOf(this, name);
      return name in s.made ? s.made[name] : (s.made[name] = make(s));
    },
    set(this: unknown, v: Made[K]) {
      stateOf(this, name).made[name] = v;
    },
    enumerable: true,
    configurable: true,
  };
}

const dataMember = (value?: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });

/** The lazy ctx's properties, in makeContext's order; params, query and agentId are filled in per ctx. */
const LAZY_MEMBERS: PropertyDescriptorMap = {
  request: lazyMember("request", (s) => s.request()),
  params: dataMember(),
  query: dataMember(),
  searchParams: lazyMember("searchParams", (s) => s.searchParams()),
  env: lazyMember("env", () => ({ ...config.env })),
  kv: lazyMember("kv", (s) => kvFor(s.call)),
  fetch: lazyMember("fetch", (s) => fetchAs(s.call)),
  secrets: dataMember(secrets),
  log: lazyMember("log", (s) => logFor(s.call)),
  agentId: dataMember(),
};

/**
 * The lean calling convention's ctx (issue 15): the same properties in the same order as
 * makeContext's, but `request`, `searchParams`, `env`, `kv`, `fetch` and `log` are made on
 * first read (once; an assignment replaces the value, as it would on a data property).
 * `call` is the host's id of this call; the Request the getter makes is bound to it. The
 * accessors are shared by every ctx and find its state through their receiver (a ctx made
 * with a literal of per-call getters cost ~6 µs more per call in QuickJS).
 */
export function makeLazyContext(call: number | undefined, request: () => Request, params: Record<string, string>, query: Record<string, string>, searchParams: () => URLSearchParams) {
  const ctx = createWith(Object.prototype, LAZY_MEMBERS) as ReturnType<typeof makeContext>;
  ctx.params = params;
  ctx.query = query;
  ctx.agentId = config.agentId;
  lazyStates.set(ctx, { call, request, searchParams, made: createWith(null) as Made });
  return ctx;
}
