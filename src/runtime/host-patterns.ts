/**
 * Host patterns: the strings an agent declares as reachable hosts and a credential grant
 * names as the places its value may go. One form for both, `[scheme://]host[:port]`:
 * `host` is a name, an IPv4 address, an IPv6 address (bracketed when a port follows) or
 * `*.domain` (subdomains only, never the domain itself).
 *
 * The two uses read a missing part differently:
 * - reachability (`hostMatches`): a missing scheme or port means any;
 * - secrets (`secretMayGo`): a missing scheme means https, a missing port means that
 *   scheme's default port. A credential approved for `api.example.com` is therefore sent
 *   only to https://api.example.com:443; `http://api.example.com:8080` must be granted in
 *   so many words. (Threat model, promise 5.)
 */
import { isIP } from "node:net";

/** One parsed pattern; `host` is lower-case, without brackets or a trailing dot. */
export interface HostPattern {
  scheme?: "http" | "https";
  host: string;
  /** The pattern was `*.domain`: `host` is `domain`, and only its subdomains match. */
  wildcard: boolean;
  port?: string;
}

const NAME = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/;
const DEFAULT_PORT = { http: "80", https: "443" } as const;

/** Parses a pattern; null when it is not of the form above (a path, a bad port, junk). */
export function parseHostPattern(pattern: string): HostPattern | null {
  let s = pattern.trim().toLowerCase();
  let scheme: HostPattern["scheme"];
  const sm = /^(https?):\/\//.exec(s);
  if (sm) {
    scheme = sm[1] as "http" | "https";
    s = s.slice(sm[0].length);
  }
  let host: string;
  let port: string | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(s);
  if (v6) [host, port] = [v6[1]!, v6[2]];
  else if (s.split(":").length > 2 && !sm) host = s; // a bare IPv6 address, no port
  else {
    const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(s);
    if (!m || !NAME.test(m[1]!)) return null;
    [host, port] = [m[1]!.replace(/\.$/, ""), m[2]];
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return null;
  if (host.includes(":") && isIP(host) !== 6) return null;
  const wildcard = host.startsWith("*.");
  return { scheme, host: wildcard ? host.slice(2) : host, wildcard, port: port === undefined ? undefined : String(Number(port)) };
}

function nameMatches(p: HostPattern, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return p.wildcard ? h.endsWith(`.${p.host}`) : h === p.host;
}

/**
 * Reachability: true when some pattern admits `host` (and `port`, `scheme` when given).
 * A pattern without a scheme admits both; without a port, any port. Unparsable patterns
 * admit nothing.
 */
export function hostMatches(patterns: string[], host: string, port?: string, scheme?: "http" | "https"): boolean {
  return patterns.some((raw) => {
    const p = parseHostPattern(raw);
    if (!p || !nameMatches(p, host)) return false;
    if (p.scheme && scheme && p.scheme !== scheme) return false;
    return p.port === undefined || port === undefined || p.port === port;
  });
}

/**
 * Secrets: true when some pattern of a grant admits exactly this scheme, host and port.
 * A pattern's scheme defaults to https and its port to its scheme's default port.
 */
export function secretMayGo(patterns: string[], scheme: "http" | "https", host: string, port: string): boolean {
  return patterns.some((raw) => {
    const p = parseHostPattern(raw);
    if (!p || !nameMatches(p, host)) return false;
    const s = p.scheme ?? "https";
    return s === scheme && (p.port ?? DEFAULT_PORT[s]) === port;
  });
}

/** The canonical text of a pattern (lower case, no trailing dot, port without zeros). */
export function formatHostPattern(p: HostPattern): string {
  const host = `${p.wildcard ? "*." : ""}${p.host.includes(":") && (p.port || p.scheme) ? `[${p.host}]` : p.host}`;
  return `${p.scheme ? `${p.scheme}://` : ""}${host}${p.port ? `:${p.port}` : ""}`;
}
