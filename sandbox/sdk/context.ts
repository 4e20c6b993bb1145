/**
 * ctx: what a handler receives besides its input. kv and fetch go through the host
 * (agent-scoped there); secrets exposes names and placeholders only — the egress proxy
 * swaps `{{secret:NAME}}` in outbound header values for the real value, and only for the
 * hosts that secret is approved for.
 */
import { hostCall } from "../shims/host";
import { fetch } from "../shims/fetch";
import { console } from "../shims/misc";
import type { Request } from "../shims/body";
import { URLSearchParams } from "../shims/url";

export interface AgentConfig {
  agentId: string;
  env: Record<string, string>;
  secrets: string[];
}

export const config: AgentConfig = { agentId: "", env: {}, secrets: [] };

const kv = {
  get: (key: string) => hostCall<unknown>("kv.get", { key }),
  set: (key: string, value: unknown) => {
    if (value === undefined) return Promise.reject(new TypeError("kv.set: value must be JSON (not undefined)"));
    return hostCall<void>("kv.set", { key, value });
  },
  delete: (key: string) => hostCall<boolean>("kv.delete", { key }),
  list: (opts: { prefix?: string; limit?: number; cursor?: string } = {}) => hostCall<{ keys: string[]; cursor: string | null }>("kv.list", opts),
};

const secrets = {
  names: () => [...config.secrets],
  has: (name: string) => config.secrets.includes(name),
  ref(name: string): string {
    if (!config.secrets.includes(name)) throw new Error(`secret ${name} is not granted to this agent`);
    return `{{secret:${name}}}`;
  },
};

const log = Object.assign((...a: unknown[]) => console.info(...a), {
  debug: (...a: unknown[]) => console.debug(...a),
  info: (...a: unknown[]) => console.info(...a),
  warn: (...a: unknown[]) => console.warn(...a),
  error: (...a: unknown[]) => console.error(...a),
});

export function makeContext(request: Request | null, params: Record<string, string> = {}, query: Record<string, string> = {}, searchParams: URLSearchParams = new URLSearchParams()) {
  return { request, params, query, searchParams, env: { ...config.env }, kv, fetch, secrets, log, agentId: config.agentId };
}
