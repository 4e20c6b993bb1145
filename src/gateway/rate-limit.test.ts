import { expect, test } from "bun:test";
import { clientBucket, RateLimiter } from "./rate-limit";

test("client buckets: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64, unknown shared", () => {
  expect(clientBucket("203.0.113.7")).toBe("203.0.113.7");
  expect(clientBucket("::ffff:203.0.113.7")).toBe("203.0.113.7");
  expect(clientBucket("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
  expect(clientBucket("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
  expect(clientBucket("2001:0db8:0001:0002::")).toBe("2001:db8:1:2::/64");
  expect(clientBucket("2001:db8::1")).toBe("2001:db8:0:0::/64");
  expect(clientBucket("::1")).toBe("0:0:0:0::/64");
  expect(clientBucket("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  expect(clientBucket("::ffff:1.2.3.4".toUpperCase())).toBe("1.2.3.4");
  expect(clientBucket(null)).toBe("unknown");
  expect(clientBucket("not an address")).toBe("unknown");
});

test("token bucket: burst of 2x, then rate_limited with Retry-After; refills with time", () => {
  let now = 0;
  const l = new RateLimiter(() => now);
  for (let i = 0; i < 4; i++) l.take("x", 2);
  expect(() => l.take("x", 2)).toThrow(expect.objectContaining({ code: "rate_limited", headers: { "retry-after": "1" } }));
  now += 500;
  l.take("x", 2);
  l.take("y", 2); // other buckets are independent
});
