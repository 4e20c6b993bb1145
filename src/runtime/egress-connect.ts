/**
 * The checked outbound request: the one place where guest egress touches the network.
 * The name is resolved once, every answer is checked against the address policy
 * (ip-policy.ts) and the operator allow-list, and the connection goes to the checked
 * address — never to a second resolution of the name (DNS rebinding). Plain http connects
 * to the address with the name in `Host`; https connects to the address while sending the
 * name as SNI and verifying the certificate for the name (Bun's fetch `tls.serverName`).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { classifyAddress, operatorAllows } from "./ip-policy";

/** An outbound request the egress proxy has authorized (declared host, granted secrets). */
export interface OutboundRequest {
  /** The URL as the backend wrote it: scheme, name, port, path. */
  url: URL;
  /** `url`'s host name, lower case, without IPv6 brackets. */
  host: string;
  /** `url`'s port, or the scheme's default. */
  port: string;
  method: string;
  /** Headers to send, secrets already substituted; Host and hop-by-hop headers removed. */
  headers: Headers;
  body?: Uint8Array;
  /** Aborts at the agent's fetch timeout. */
  signal: AbortSignal;
  /** The agent on whose behalf the request goes out (for layers that route per agent). */
  agentId: string;
}

/**
 * Performs an authorized request. The real one is `createCheckedOutbound`; a layer that
 * answers some requests itself (fixtures) wraps it and passes the rest on.
 */
export type Outbound = (req: OutboundRequest) => Promise<Response>;

export interface CheckedOutboundOptions {
  /** Allow private/loopback addresses for every agent (development only). */
  allowPrivate?: boolean;
  /** Operator allow-list of private destinations: host names, IPs or CIDR blocks. */
  allowHosts?: string[];
  /** Name resolution; default: the system resolver (all addresses). */
  lookup?: (host: string) => Promise<string[]>;
  /** Extra trusted CA certificates (PEM) for https; by default only the system's. */
  ca?: string[];
}

const systemLookup = async (host: string) => (await dnsLookup(host, { all: true })).map((a) => a.address);

/**
 * Resolves `host` once and checks every answer; returns the answers (the first is the one
 * to connect to). Throws a guest-facing Error naming the first refused address.
 */
export async function resolveChecked(host: string, opts: CheckedOutboundOptions): Promise<string[]> {
  const addresses = isIP(host)
    ? [host]
    : await (opts.lookup ?? systemLookup)(host).catch((e) => {
        throw new Error(`fetch: cannot resolve ${host}: ${(e as Error).message}`);
      });
  if (!addresses.length) throw new Error(`fetch: ${host} did not resolve`);
  for (const ip of addresses) {
    const verdict = classifyAddress(ip);
    if (verdict.allowed || opts.allowPrivate || operatorAllows(opts.allowHosts ?? [], host, ip)) continue;
    const carried = verdict.embedded ? ` (carrying ${verdict.embedded})` : "";
    throw new Error(`fetch: ${host} resolves to ${ip}${carried}, a loopback, private, link-local or reserved address (${verdict.range}), which sandboxes may not reach`);
  }
  return addresses;
}

/** The real network: resolve and check once, then connect to the checked address. */
export function createCheckedOutbound(opts: CheckedOutboundOptions): Outbound {
  return async (req) => {
    const [address] = await resolveChecked(req.host, opts);
    return sendTo(address!, req, opts.ca);
  };
}

/** Sends `req` over a connection to `address`, keeping the name for Host, SNI and the certificate. */
function sendTo(address: string, req: OutboundRequest, ca?: string[]): Promise<Response> {
  const target = new URL(req.url.href);
  target.hostname = isIP(address) === 6 ? `[${address}]` : address;
  const headers = new Headers(req.headers);
  headers.set("host", req.url.host);
  const byName = isIP(req.host) === 0;
  const tls = req.url.protocol === "https:" ? { ...(byName ? { serverName: req.host } : {}), ...(ca?.length ? { ca } : {}) } : undefined;
  return fetch(target, {
    method: req.method,
    headers,
    body: req.body && !/^(GET|HEAD)$/i.test(req.method) ? (req.body as Uint8Array<ArrayBuffer>) : undefined,
    redirect: "manual",
    signal: req.signal,
    ...(tls ? { tls } : {}),
  });
}
