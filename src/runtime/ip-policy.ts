/**
 * Which addresses guest egress may never reach (unless the operator allow-lists them):
 * loopback, private, CGNAT, link-local (cloud metadata lives at 169.254.169.254 and
 * fd00:ec2::254), multicast, reserved and unspecified ranges, including IPv4 addresses
 * embedded in IPv6 (mapped, NAT64).
 */
import { isIP } from "node:net";

const V4_BLOCKED: [string, number][] = [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
];

export function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, p) => (n << 8) + Number(p), 0) >>> 0;
}

export function inCidr4(ip: string, base: string, bits: number): boolean {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (v4ToInt(ip) & mask) === (v4ToInt(base) & mask);
}

/** Expands an IPv6 address to 8 16-bit groups (embedded dotted IPv4 included). */
function v6Groups(ip: string): number[] {
  let s = ip.toLowerCase().replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = v4ToInt(v4[1]!);
    s = s.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail !== undefined ? new Array(8 - h.length - t.length).fill("0") : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16) || 0);
}

export function isBlockedAddress(ip: string): boolean {
  const kind = isIP(ip);
  if (kind === 4) return V4_BLOCKED.some(([b, n]) => inCidr4(ip, b, n)) || ip === "255.255.255.255";
  if (kind !== 6) return true;
  const g = v6Groups(ip);
  const embedded = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  if (g.slice(0, 7).every((x) => x === 0)) return true; // :: and ::1 (and ::a.b.c.d, deprecated)
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return isBlockedAddress(embedded()); // ::ffff:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b) return isBlockedAddress(embedded()); // NAT64
  if ((g[0]! & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g[0]! & 0xffc0) === 0xfe80) return true; // link-local
  if ((g[0]! & 0xff00) === 0xff00) return true; // multicast
  if (g[0] === 0x2001 && g[1] === 0xdb8) return true; // documentation
  return false;
}

/** Operator allow-list entries: host names, IP addresses or IPv4 CIDRs (e.g. "10.0.0.0/8"). */
export function operatorAllows(allow: string[], host: string, ip: string): boolean {
  return allow.some((a) => {
    const x = a.toLowerCase();
    if (x === host || x === ip) return true;
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(x);
    return !!m && isIP(ip) === 4 && inCidr4(ip, m[1]!, Number(m[2]));
  });
}

/** Agent allow-list entries: exact host names or "*.example.com" (subdomains only). */
export function hostMatches(patterns: string[], host: string, port?: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return patterns.some((p) => {
    // "host:port" and "[v6]:port" match that port only; a bare host, a bare IPv6 address
    // or *.domain matches any port.
    const lower = p.toLowerCase();
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(lower) ?? (lower.split(":").length === 2 ? /^([^:]+):(\d+)$/.exec(lower) : null);
    const x = (m ? m[1]! : lower).replace(/\.$/, "");
    const want = m?.[2];
    if (want !== undefined && port !== undefined && want !== port) return false;
    return x.startsWith("*.") ? h.endsWith(x.slice(1)) && h.length > x.length - 1 : x === h;
  });
}
