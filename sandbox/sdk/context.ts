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

/**
 * The lean calling convention's ctx (issue 15): the same properties in the same order as
 * makeContext's, but `request`, `env`, `kv`, `fetch` and `log` are made on first read too
 * (once; an assignment replaces the value, as it would on a data property). `call` is the host's id of this call; the Request
 * the getter makes is bound to it.
 */
export function makeLazyContext(call: number | undefined, request: () => Request, params: Record<string, string>, query: Record<string, string>, searchParams: () => URLSearchParams) {
  // Each member is made on its first read (a handler that never logs makes no logger: ~1.2 µs
  // of ~25 per call in QuickJS, bench/guest-dispatch.ts) and, as a data property would be,
  // can be assigned; `made` holds what was made or assigned.
  // No prototype: `in` sees only what was made here, never a name a library added to Object.prototype.
  const made: { request?: Request; searchParams?: URLSearchParams; env?: Record<string, string>; kv?: ReturnType<typeof kvFor>; fetch?: ReturnType<typeof fetchAs>; log?: ReturnType<typeof logFor> } = Object.create(null);
  return {
    get request(): Request {
      return "request" in made ? made.request! : (made.request = request());
    },
    set request(v: Request) {
      made.request = v;
    },
    params,
    query,
    get searchParams(): URLSearchParams {
      return "searchParams" in made ? made.searchParams! : (made.searchParams = searchParams());
    },
    set searchParams(v: URLSearchParams) {
      made.searchParams = v;
    },
    get env(): Record<string, string> {
      return "env" in made ? made.env! : (made.env = { ...config.env });
    },
    set env(v: Record<string, string>) {
      made.env = v;
    },
    get kv(): ReturnType<typeof kvFor> {
      return "kv" in made ? made.kv! : (made.kv = kvFor(call));
    },
    set kv(v: ReturnType<typeof kvFor>) {
      made.kv = v;
    },
    get fetch(): ReturnType<typeof fetchAs> {
      return "fetch" in made ? made.fetch! : (made.fetch = fetchAs(call));
    },
    set fetch(v: ReturnType<typeof fetchAs>) {
      made.fetch = v;
    },
    secrets,
    get log(): ReturnType<typeof logFor> {
      return "log" in made ? made.log! : (made.log = logFor(call));
    },
    set log(v: ReturnType<typeof logFor>) {
      made.log = v;
    },
    agentId: config.agentId,
  };
}
