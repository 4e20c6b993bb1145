import { expect, test } from "bun:test";
import { hostMatches, isBlockedAddress, operatorAllows } from "../../src/runtime/ip-policy";

test("blocked address ranges", () => {
  for (const ip of ["127.0.0.1", "127.9.9.9", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
    "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "64:ff9b::a9fe:a9fe", "ff02::1", "not-an-ip"]) {
    expect([ip, isBlockedAddress(ip)]).toEqual([ip, true]);
  }
  for (const ip of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) expect([ip, isBlockedAddress(ip)]).toEqual([ip, false]);
});

test("agent host patterns and operator allow-list", () => {
  expect(hostMatches(["api.example.com"], "API.example.com")).toBe(true);
  expect(hostMatches(["*.example.com"], "a.b.example.com")).toBe(true);
  expect(hostMatches(["*.example.com"], "example.com")).toBe(false);
  expect(hostMatches(["*.example.com"], "evilexample.com")).toBe(false);
  expect(operatorAllows(["10.0.0.0/8"], "db.internal", "10.2.3.4")).toBe(true);
  expect(operatorAllows(["db.internal"], "db.internal", "10.2.3.4")).toBe(true);
  expect(operatorAllows(["10.0.0.0/8"], "x", "11.0.0.1")).toBe(false);
});
