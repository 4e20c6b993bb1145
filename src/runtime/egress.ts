/**
 * The egress proxy behind guest fetch. It authorizes a request — http or https only, a
 * host the agent declared, `{{secret:NAME}}` placeholders in header values replaced only
 * when NAME's grant names this scheme, host and port (host-patterns.ts) — and hands it to
 * the outbound layer, by default the checked network (egress-connect.ts: resolve once,
 * check every address, connect to the checked address). Redirects are returned, not
 * followed; time and response size are capped. Each request holds one of the shared
 * outbound slots (egress-slots.ts) from connect to the last body byte, so one workspace's
 * requests to a slow upstream cannot take every other tenant's.
 */
import type { AgentRuntimeConfig, Limits, SecretResolver } from "./types";
import { createCheckedOutbound, type CheckedOutboundOptions, type Outbound } from "./egress-connect";
import { hostMatches, secretMayGo } from "./host-patterns";
import { EgressSlots } from "./egress-slots";

export interface EgressOptions extends CheckedOutboundOptions {
  /**
   * The layer in front of the network (e.g. validation-time fixtures): receives every
   * authorized request. Default: the checked network, `createCheckedOutbound(this)`.
   */
  outbound?: Outbound;
  /** Sees each request's outcome (metrics): allowed, refused by policy, failed on the network, answered by a fixture. */
  onRequest?: (outcome: "allowed" | "refused" | "failed" | "fixture") => void;
  /** The outbound slots requests take (default: EGRESS_SLOTS, no per-workspace bound). */
  slots?: EgressSlots;
}

/** A request that passed the policy and then failed on the network (timeout, connection). */
class NetworkFailure extends Error {}

export interface EgressRequest {
  url: string;
  method: string;
  headers: [string, string][];
}

export interface EgressResponse {
  meta: { status: number; statusText: string; headers: [string, string][]; url: string };
  bytes: Uint8Array;
}

export const SECRET_PATTERN = /\{\{secret:([A-Za-z0-9_.-]+)\}\}/g;

/** Answers a scratch run's request from its world's fixtures (see scratch.ts). */
export type ScratchServe = (config: AgentRuntimeConfig, req: EgressRequest, body: Uint8Array | undefined) => EgressResponse;

const noScratch: ScratchServe = (config) => {
  throw new Error(`fetch: scratch world ${config.scratch?.namespace} is not open`);
};

export function createEgress(opts: EgressOptions, secrets: SecretResolver, scratchServe: ScratchServe = noScratch) {
  const outbound = opts.outbound ?? createCheckedOutbound(opts);
  const record = opts.onRequest;
  const slots = opts.slots ?? new EgressSlots();
  return async function egress(config: AgentRuntimeConfig, limits: Limits, req: EgressRequest, body: Uint8Array | undefined): Promise<EgressResponse> {
    if (!record) return attempt(config, limits, req, body);
    try {
      const res = await attempt(config, limits, req, body);
      record(config.scratch ? "fixture" : "allowed");
      return res;
    } catch (e) {
      record(e instanceof NetworkFailure ? "failed" : "refused");
      throw e;
    }
  };

  async function attempt(config: AgentRuntimeConfig, limits: Limits, req: EgressRequest, body: Uint8Array | undefined): Promise<EgressResponse> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new Error(`fetch: invalid URL ${req.url}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`fetch: only http and https are allowed (got ${url.protocol})`);
    if (req.url.includes("{{secret:")) throw new Error("fetch: secrets may only be used in header values, not in the URL");
    const scheme = url.protocol === "https:" ? "https" : "http";
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const port = url.port || (scheme === "https" ? "443" : "80");
    if (!hostMatches(config.allowedHosts, host, port, scheme)) throw new Error(`fetch: host ${host} is not in this agent's allowed hosts`);
    // A scratch run (validation, QA, self-heal) is answered by its world's fixtures, in
    // front of secret injection and the network: placeholders stay placeholders, and
    // nothing is resolved or connected (scratch.ts).
    if (config.scratch) return scratchServe(config, req, body);
    const headers = new Headers();
    for (const [k, v] of req.headers) {
      if (/^(host|connection|content-length|transfer-encoding|keep-alive|upgrade|te|trailer|proxy-.*)$/i.test(k)) continue;
      headers.append(k, await injectSecrets(v, config, secrets, { scheme, host, port }));
    }
    const signal = AbortSignal.timeout(limits.fetchTimeoutMs);
    const tenant = config.workspaceId === undefined ? `agent:${config.agentId}` : `ws:${config.workspaceId}`;
    const release = await slots.acquire(tenant, signal).catch(() => {
      const held = slots.held(tenant);
      const why = held >= slots.perKey() ? `the workspace's ${held} requests in flight are the most one workspace may have (${slots.perKey()} of ${slots.total})` : `all ${slots.total} outbound slots were in use`;
      throw new NetworkFailure(`fetch: no outbound slot within ${limits.fetchTimeoutMs} ms: ${why}`);
    });
    try {
      let res: Response;
      try {
        res = await outbound({ url, host, port, method: req.method, headers, body, signal, agentId: config.agentId });
      } catch (e) {
        const err = e as Error;
        if (err.message.startsWith("fetch: ")) throw err; // already a policy message
        throw new NetworkFailure(err.name === "TimeoutError" || err.name === "AbortError" ? `fetch: ${host} did not answer within ${limits.fetchTimeoutMs} ms` : `fetch: ${host}: ${err.message}`);
      }
      const bytes = await readCapped(res, limits.fetchMaxBytes, host);
      return { meta: { status: res.status, statusText: res.statusText, headers: [...res.headers], url: url.href }, bytes };
    } finally {
      release();
    }
  }
}

/** Replaces each secret placeholder; the values are resolved first (the resolver may read the database). */
async function injectSecrets(value: string, config: AgentRuntimeConfig, resolve: SecretResolver, to: { scheme: "http" | "https"; host: string; port: string }): Promise<string> {
  const values = new Map<string, string | null>();
  for (const m of value.matchAll(SECRET_PATTERN)) {
    const name = m[1]!;
    if (!values.has(name) && config.secrets.some((s) => s.name === name && secretMayGo(s.hosts, to.scheme, to.host, to.port))) values.set(name, await resolve(config.agentId, name));
  }
  return value.replace(SECRET_PATTERN, (_m, name: string) => {
    const grant = config.secrets.find((s) => s.name === name);
    if (!grant) throw new Error(`fetch: secret ${name} is not granted to this agent`);
    if (!secretMayGo(grant.hosts, to.scheme, to.host, to.port)) {
      const where = `${to.scheme}://${to.host.includes(":") ? `[${to.host}]` : to.host}:${to.port}`;
      throw new Error(`fetch: secret ${name} is not approved for ${where}; a grant for a bare host covers https on port 443 only, other schemes and ports must be granted by name (e.g. "${where}")`);
    }
    const v = values.get(name) ?? null;
    if (v === null) throw new Error(`fetch: secret ${name} has no value`);
    return v;
  });
}

async function readCapped(res: Response, max: number, host: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) {
    await res.body?.cancel();
    throw new Error(`fetch: the response from ${host} (${declared} bytes) exceeds the limit of ${max} bytes`);
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > max) {
      await res.body.cancel().catch(() => {});
      throw new Error(`fetch: the response from ${host} exceeds the limit of ${max} bytes`);
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) (out.set(c, off), (off += c.byteLength));
  return out;
}
