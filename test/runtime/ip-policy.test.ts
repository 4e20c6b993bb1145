/**
 * The address policy, entry by entry: every block of the IANA IPv4 and IPv6 special-purpose
 * address registries (as of 2025), the blocks outside them that must not be reached
 * (multicast, site-local, IPv4-compatible, SIIT, unallocated IPv6), IPv4 carried inside
 * IPv6 (mapped, NAT64, 6to4, Teredo), and ordinary public addresses. Each row: registry
 * block, its name, a sample address, whether guest egress may reach it.
 */
import { describe, expect, test } from "bun:test";
import { classifyAddress, isBlockedAddress, operatorAllows } from "../../src/runtime/ip-policy";

const REACH = true;
const REFUSE = false;

// IANA IPv4 Special-Purpose Address Registry, every entry.
const ipv4Registry: [string, string, string, boolean][] = [
  ["0.0.0.0/8", "This network", "0.1.2.3", REFUSE],
  ["0.0.0.0/32", "This host on this network", "0.0.0.0", REFUSE],
  ["10.0.0.0/8", "Private-Use", "10.20.30.40", REFUSE],
  ["100.64.0.0/10", "Shared Address Space", "100.100.0.1", REFUSE],
  ["127.0.0.0/8", "Loopback", "127.0.0.1", REFUSE],
  ["127.0.0.0/8", "Loopback (not .1)", "127.255.255.254", REFUSE],
  ["169.254.0.0/16", "Link Local (cloud metadata)", "169.254.169.254", REFUSE],
  ["172.16.0.0/12", "Private-Use", "172.31.255.255", REFUSE],
  ["192.0.0.0/24", "IETF Protocol Assignments", "192.0.0.200", REFUSE],
  ["192.0.0.0/29", "IPv4 Service Continuity Prefix", "192.0.0.1", REFUSE],
  ["192.0.0.8/32", "IPv4 dummy address", "192.0.0.8", REFUSE],
  ["192.0.0.9/32", "Port Control Protocol Anycast", "192.0.0.9", REFUSE],
  ["192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "192.0.0.10", REFUSE],
  ["192.0.0.170/32", "NAT64/DNS64 Discovery", "192.0.0.170", REFUSE],
  ["192.0.0.171/32", "NAT64/DNS64 Discovery", "192.0.0.171", REFUSE],
  ["192.0.2.0/24", "Documentation (TEST-NET-1)", "192.0.2.1", REFUSE],
  ["192.31.196.0/24", "AS112-v4", "192.31.196.1", REFUSE],
  ["192.52.193.0/24", "AMT", "192.52.193.1", REFUSE],
  ["192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "192.88.99.1", REFUSE],
  ["192.88.99.2/32", "6a44-relay anycast address", "192.88.99.2", REFUSE],
  ["192.168.0.0/16", "Private-Use", "192.168.1.1", REFUSE],
  ["192.175.48.0/24", "Direct Delegation AS112 Service", "192.175.48.1", REFUSE],
  ["198.18.0.0/15", "Benchmarking", "198.19.255.255", REFUSE],
  ["198.51.100.0/24", "Documentation (TEST-NET-2)", "198.51.100.7", REFUSE],
  ["203.0.113.0/24", "Documentation (TEST-NET-3)", "203.0.113.9", REFUSE],
  ["240.0.0.0/4", "Reserved", "240.0.0.1", REFUSE],
  ["255.255.255.255/32", "Limited Broadcast", "255.255.255.255", REFUSE],
];

// IPv4 outside the special-purpose registry.
const ipv4Other: [string, string, string, boolean][] = [
  ["224.0.0.0/4", "Multicast (IANA multicast registry)", "224.0.0.1", REFUSE],
  ["224.0.0.0/4", "Multicast, top", "239.255.255.255", REFUSE],
  ["global unicast", "public DNS", "8.8.8.8", REACH],
  ["global unicast", "public web", "93.184.216.34", REACH],
  ["global unicast", "just past 172.16.0.0/12", "172.32.0.1", REACH],
  ["global unicast", "just past 100.64.0.0/10", "100.128.0.1", REACH],
  ["global unicast", "just before 169.254.0.0/16", "169.253.255.255", REACH],
  ["global unicast", "just past 198.18.0.0/15", "198.20.0.1", REACH],
];

// IANA IPv6 Special-Purpose Address Registry, every entry.
const ipv6Registry: [string, string, string, boolean][] = [
  ["::1/128", "Loopback Address", "::1", REFUSE],
  ["::/128", "Unspecified Address", "::", REFUSE],
  ["::ffff:0:0/96", "IPv4-mapped, carrying loopback", "::ffff:127.0.0.1", REFUSE],
  ["::ffff:0:0/96", "IPv4-mapped, hex form of loopback", "::ffff:7f00:1", REFUSE],
  ["::ffff:0:0/96", "IPv4-mapped, carrying metadata", "::ffff:a9fe:a9fe", REFUSE],
  ["::ffff:0:0/96", "IPv4-mapped, carrying a public address", "::ffff:8.8.8.8", REACH],
  ["64:ff9b::/96", "IPv4-IPv6 Translat. (NAT64), carrying metadata", "64:ff9b::a9fe:a9fe", REFUSE],
  ["64:ff9b::/96", "NAT64, carrying loopback", "64:ff9b::127.0.0.1", REFUSE],
  ["64:ff9b::/96", "NAT64, carrying a public address", "64:ff9b::808:808", REACH],
  ["64:ff9b:1::/48", "Local-use IPv4/IPv6 Translation", "64:ff9b:1::808:808", REFUSE],
  ["100::/64", "Discard-Only Address Block", "100::1", REFUSE],
  ["100:0:0:1::/64", "Dummy IPv6 Prefix", "100:0:0:1::1", REFUSE],
  ["2001::/23", "IETF Protocol Assignments", "2001:5::1", REFUSE],
  ["2001::/32", "TEREDO, client loopback", "2001:0:4136:e378:8000:63bf:80ff:fffe", REFUSE],
  ["2001::/32", "TEREDO, private server", "2001:0:a00:1:8000:63bf:f7f7:f7f7", REFUSE],
  ["2001::/32", "TEREDO, public server and client", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", REACH],
  ["2001:1::1/128", "Port Control Protocol Anycast", "2001:1::1", REFUSE],
  ["2001:1::2/128", "Traversal Using Relays around NAT Anycast", "2001:1::2", REFUSE],
  ["2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "2001:1::3", REFUSE],
  ["2001:2::/48", "Benchmarking", "2001:2::1", REFUSE],
  ["2001:3::/32", "AMT", "2001:3::1", REFUSE],
  ["2001:4:112::/48", "AS112-v6", "2001:4:112::1", REFUSE],
  ["2001:10::/28", "Deprecated (previously ORCHID)", "2001:10::1", REFUSE],
  ["2001:20::/28", "ORCHIDv2", "2001:20::1", REFUSE],
  ["2001:30::/28", "Drone Remote ID Protocol Entity Tags", "2001:30::1", REFUSE],
  ["2001:db8::/32", "Documentation", "2001:db8::1", REFUSE],
  ["2002::/16", "6to4, carrying loopback", "2002:7f00:1::1", REFUSE],
  ["2002::/16", "6to4, carrying 192.168.1.1", "2002:c0a8:101::1", REFUSE],
  ["2002::/16", "6to4, carrying a public address", "2002:808:808::1", REACH],
  ["2620:4f:8000::/48", "Direct Delegation AS112 Service", "2620:4f:8000::1", REFUSE],
  ["3fff::/20", "Documentation", "3fff::1", REFUSE],
  ["5f00::/16", "Segment Routing (SRv6) SIDs", "5f00::1", REFUSE],
  ["fc00::/7", "Unique-Local", "fc00::1", REFUSE],
  ["fc00::/7", "Unique-Local (AWS metadata)", "fd00:ec2::254", REFUSE],
  ["fe80::/10", "Link-Local Unicast", "fe80::1", REFUSE],
  ["fe80::/10", "Link-Local Unicast with a zone", "fe80::1%eth0", REFUSE],
];

// IPv6 outside the special-purpose registry.
const ipv6Other: [string, string, string, boolean][] = [
  ["ff00::/8", "Multicast", "ff02::1", REFUSE],
  ["fec0::/10", "Site-local (deprecated, RFC 3879)", "fec0::1", REFUSE],
  ["::/96", "IPv4-compatible (deprecated), loopback", "::7f00:1", REFUSE],
  ["::/96", "IPv4-compatible, dotted", "::127.0.0.1", REFUSE],
  ["::/96", "IPv4-compatible, even public", "::8.8.8.8", REFUSE],
  ["::ffff:0:0:0/96", "SIIT IPv4-translated, loopback", "::ffff:0:7f00:1", REFUSE],
  ["::ffff:0:0:0/96", "SIIT IPv4-translated, public", "::ffff:0:808:808", REFUSE],
  ["outside 2000::/3", "unallocated", "4000::1", REFUSE],
  ["outside 2000::/3", "unallocated", "e000::1", REFUSE],
  ["2000::/3", "global unicast (Cloudflare)", "2606:4700::1111", REACH],
  ["2000::/3", "global unicast (Google DNS, outside 2001::/23)", "2001:4860:4860::8888", REACH],
  ["2000::/3", "global unicast (Quad9)", "2620:fe::fe", REACH],
];

const invalid: [string, string, string, boolean][] = [
  ["-", "not an address", "not-an-ip", REFUSE],
  ["-", "shorthand IPv4 (resolvers never answer it)", "127.1", REFUSE],
  ["-", "empty", "", REFUSE],
];

describe.each([
  ["IANA IPv4 special-purpose registry", ipv4Registry],
  ["IPv4, other", ipv4Other],
  ["IANA IPv6 special-purpose registry", ipv6Registry],
  ["IPv6, other", ipv6Other],
  ["invalid", invalid],
] as const)("%s", (_title, rows) => {
  test.each(rows)("%s %s: %s reachable=%p", (_block, _name, ip, reachable) => {
    expect(classifyAddress(ip).allowed).toBe(reachable);
    expect(isBlockedAddress(ip)).toBe(!reachable);
  });
});

test("the IPv4 an IPv6 form carries is reported", () => {
  expect(classifyAddress("2002:7f00:1::1")).toEqual({ allowed: false, range: "6to4", embedded: "127.0.0.1" });
  expect(classifyAddress("64:ff9b::a9fe:a9fe")).toEqual({ allowed: false, range: "rfc6052", embedded: "169.254.169.254" });
  expect(classifyAddress("2001:0:4136:e378:8000:63bf:80ff:fffe")).toMatchObject({ allowed: false, range: "teredo", embedded: "127.0.0.1" });
  expect(classifyAddress("::7f00:1")).toEqual({ allowed: false, range: "ipv4Compatible", embedded: "127.0.0.1" });
});

test("operator allow-list: names, addresses and IPv4/IPv6 blocks", () => {
  expect(operatorAllows(["10.0.0.0/8"], "db.internal", "10.2.3.4")).toBe(true);
  expect(operatorAllows(["db.internal"], "db.internal", "10.2.3.4")).toBe(true);
  expect(operatorAllows(["10.0.0.0/8"], "x", "11.0.0.1")).toBe(false);
  expect(operatorAllows(["10.0.0.0/8"], "x", "::ffff:10.0.0.1")).toBe(true);
  expect(operatorAllows(["fd00::/8"], "x", "fd12::1")).toBe(true);
  expect(operatorAllows(["fd00::/8"], "x", "10.0.0.1")).toBe(false);
  expect(operatorAllows(["127.0.0.2"], "x", "127.0.0.2")).toBe(true);
  expect(operatorAllows(["127.0.0.2"], "x", "127.0.0.1")).toBe(false);
  expect(operatorAllows(["::1"], "x", "0:0::1")).toBe(true);
  expect(operatorAllows(["junk/99"], "x", "10.0.0.1")).toBe(false);
});
