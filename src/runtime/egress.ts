/**
 * The egress proxy behind guest fetch: only hosts the agent declared; the name is
 * resolved and every address checked (no loopback/private/link-local/metadata unless the
 * operator allows it), and plain-http requests are pinned to the checked address so a
 * second DNS answer cannot differ. Header values may carry `{{secret:NAME}}`; the proxy
 * substitutes the value only when NAME is granted for this host. Redirects are returned,
 * not followed. Time and response size are capped.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { AgentRuntimeConfig, Limits, SecretResolver } from "./types";
import { hostMatches, isBlockedAddress, operatorAllows } from "./ip-policy";

export interface EgressOptions {
  /** Allow private/loopback addresses for every agent (development only). */
  allowPrivate?: boolean;
  /** Operator allow-list of private destinations: host names, IPs or IPv4 CIDRs. */
  allowHosts?: string[];
  lookup?: (host: string) => Promise<string[]>;
}

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

const defaultLookup = async (host: string) => (await dnsLookup(host, { all: true })).map((a) => a.address);

/** Answers a scratch run's request from its world's fixtures (see scratch.ts). */
export type ScratchServe = (config: AgentRuntimeConfig, req: EgressRequest, body: Uint8Array | undefined) => EgressResponse;

const noScratch: ScratchServe = (config) => {
  throw new Error(`fetch: scratch world ${config.scratch?.namespace} is not open`);
};

export function createEgress(opts: EgressOptions, secrets: SecretResolver, scratchServe: ScratchServe = noScratch) {
  const lookup = opts.lookup ?? defaultLookup;
  return async function egress(config: AgentRuntimeConfig, limits: Limits, req: EgressRequest, body: Uint8Array | undefined): Promise<EgressResponse> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new Error(`fetch: invalid URL ${req.url}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`fetch: only http and https are allowed (got ${url.protocol})`);
    if (req.url.includes("{{secret:")) throw new Error("fetch: secrets may only be used in header values, not in the URL");
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    if (!hostMatches(config.allowedHosts, host, port)) throw new Error(`fetch: host ${host} is not in this agent's allowed hosts`);
    // Fixture layer, in front of the real request: a scratch run never reaches the network.
    if (config.scratch) return scratchServe(config, req, body);
    const addresses = isIP(host) ? [host] : await lookup(host).catch((e) => {
      throw new Error(`fetch: cannot resolve ${host}: ${(e as Error).message}`);
    });
    if (!addresses.length) throw new Error(`fetch: ${host} did not resolve`);
    for (const ip of addresses) {
      if (isBlockedAddress(ip) && !opts.allowPrivate && !operatorAllows(opts.allowHosts ?? [], host, ip)) {
        throw new Error(`fetch: ${host} resolves to ${ip}, a loopback, private, link-local or reserved address, which sandboxes may not reach`);
      }
    }
    const headers = new Headers();
    for (const [k, v] of req.headers) {
      if (/^(host|connection|content-length|transfer-encoding)$/i.test(k)) continue;
      headers.append(k, injectSecrets(v, config, host, secrets, port));
    }
    let target = url.href;
    if (url.protocol === "http:" && !isIP(host)) {
      const pinned = new URL(url.href);
      pinned.hostname = isIP(addresses[0]!) === 6 ? `[${addresses[0]}]` : addresses[0]!;
      target = pinned.href;
      headers.set("host", url.host);
    }
    let res: Response;
    try {
      res = await fetch(target, { method: req.method, headers, body: body && !/^(GET|HEAD)$/i.test(req.method) ? (body as Uint8Array<ArrayBuffer>) : undefined, redirect: "manual", signal: AbortSignal.timeout(limits.fetchTimeoutMs) });
    } catch (e) {
      const name = (e as Error).name;
      throw new Error(name === "TimeoutError" || name === "AbortError" ? `fetch: ${host} did not answer within ${limits.fetchTimeoutMs} ms` : `fetch: ${host}: ${(e as Error).message}`);
    }
    const bytes = await readCapped(res, limits.fetchMaxBytes, host);
    return { meta: { status: res.status, statusText: res.statusText, headers: [...res.headers], url: url.href }, bytes };
  };
}

function injectSecrets(value: string, config: AgentRuntimeConfig, host: string, resolve: SecretResolver, port?: string): string {
  return value.replace(SECRET_PATTERN, (_m, name: string) => {
    const grant = config.secrets.find((s) => s.name === name);
    if (!grant) throw new Error(`fetch: secret ${name} is not granted to this agent`);
    if (!hostMatches(grant.hosts, host, port)) throw new Error(`fetch: secret ${name} is not approved for host ${host}`);
    const v = resolve(config.agentId, name);
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
