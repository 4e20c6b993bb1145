/**
 * Which addresses guest egress may reach. The rule: an address is reachable only if it is
 * ordinary global unicast, i.e. in none of the blocks of the IANA special-purpose address
 * registries (IPv4: RFC 6890 registry "iana-ipv4-special-registry"; IPv6:
 * "iana-ipv6-special-registry"), not multicast, broadcast or site-local, and — for IPv6 —
 * inside 2000::/3, the only block the IANA IPv6 address-space registry allocates to global
 * unicast. The blocks come from ipaddr.js (`range()`), not from tables kept here.
 *
 * Every special-purpose block is refused, even those the registry marks globally reachable
 * (AS112, AMT, the PCP/TURN anycast addresses, ORCHIDv2): no backend needs them, and
 * refusing is the safe direction. IPv6 forms that carry an IPv4 address are judged by that
 * address: IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo
 * (2001::/32: the server and the de-obfuscated client address both must pass). The
 * deprecated or locally scoped carriers — IPv4-compatible (::a.b.c.d), SIIT
 * (::ffff:0:a.b.c.d) and local-use NAT64 (64:ff9b:1::/48) — are refused whatever they carry.
 * The operator allow-list (`operatorAllows`) is the only way past this.
 */
import ipaddr from "ipaddr.js";
import { isIP } from "node:net";

/** The verdict on one address, with the registry block it fell in (for messages and tests). */
export interface AddressVerdict {
  allowed: boolean;
  /** ipaddr.js range name ("unicast" when in no special block), or our name for the rest. */
  range: string;
  /** The IPv4 address an IPv6 form carries, when it carries one. */
  embedded?: string;
}

/** The only IPv6 block allocated to global unicast (IANA IPv6 address-space registry). */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");

/**
 * Classifies a textual IP address (as a resolver or the URL parser yields it). Anything
 * that is not a valid IPv4 dotted quad or IPv6 address is refused (`range: "invalid"`).
 */
export function classifyAddress(ip: string): AddressVerdict {
  const kind = isIP(ip);
  if (kind === 4) {
    const range = ipaddr.IPv4.parse(ip).range();
    return { allowed: range === "unicast", range };
  }
  if (kind !== 6) return { allowed: false, range: "invalid" };
  const a = ipaddr.IPv6.parse(canonicalV6(ip));
  const p = a.parts;
  const range = a.range() as string;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const carried = (embedded: string): AddressVerdict => ({ allowed: classifyAddress(embedded).allowed, range, embedded });
  switch (range) {
    case "ipv4Mapped":
      return carried(v4(p[6]!, p[7]!));
    case "rfc6052": // 64:ff9b::/96 is global NAT64; 64:ff9b:1::/48 is local use only
      return p[2] === 0 ? carried(v4(p[6]!, p[7]!)) : { allowed: false, range: "rfc8215", embedded: v4(p[6]!, p[7]!) };
    case "6to4":
      return carried(v4(p[1]!, p[2]!));
    case "teredo": {
      const server = v4(p[2]!, p[3]!);
      const client = v4(~p[6]! & 0xffff, ~p[7]! & 0xffff);
      return { allowed: classifyAddress(server).allowed && classifyAddress(client).allowed, range, embedded: client };
    }
    case "rfc6145":
      return { allowed: false, range, embedded: v4(p[6]!, p[7]!) };
    case "unicast":
      if (p.slice(0, 6).every((x) => x === 0)) return { allowed: false, range: "ipv4Compatible", embedded: v4(p[6]!, p[7]!) };
      return a.match(GLOBAL_UNICAST_V6) ? { allowed: true, range } : { allowed: false, range: "unallocated" };
    default:
      return { allowed: false, range };
  }
}

/**
 * The WHATWG URL serialization of an IPv6 address (hex groups, zone dropped): the form the
 * connection uses. ipaddr.js reads "::a.b.c.d" (IPv4-compatible) as "::ffff:a.b.c.d"
 * (IPv4-mapped), so dotted tails are turned into hex before it sees them.
 */
function canonicalV6(ip: string): string {
  return new URL(`http://[${ip.replace(/%.*$/, "")}]/`).hostname.slice(1, -1);
}

/** True when guest egress may not reach `ip` (see classifyAddress). */
export function isBlockedAddress(ip: string): boolean {
  return !classifyAddress(ip).allowed;
}

/**
 * The operator allow-list: entries are host names, IP addresses or CIDR blocks, IPv4 or
 * IPv6 (e.g. "db.internal", "10.0.0.5", "10.0.0.0/8", "fd00::/8"). An IPv4-mapped IPv6
 * address is compared as the IPv4 address it maps.
 */
export function operatorAllows(allow: string[], host: string, ip: string): boolean {
  const kind = isIP(ip);
  if (!kind) return false;
  const addr = ipaddr.process(kind === 6 ? canonicalV6(ip) : ip);
  return allow.some((entry) => {
    const x = entry.trim().toLowerCase();
    if (x === host) return true;
    try {
      if (x.includes("/")) {
        const [base, bits] = ipaddr.parseCIDR(x);
        return base.kind() === addr.kind() && addr.match(base, bits);
      }
      if (isIP(x)) {
        const want = ipaddr.process(isIP(x) === 6 ? canonicalV6(x) : x);
        return want.kind() === addr.kind() && want.toNormalizedString() === addr.toNormalizedString();
      }
    } catch {
      // an entry that is neither a name nor a valid address or block matches nothing
    }
    return false;
  });
}
