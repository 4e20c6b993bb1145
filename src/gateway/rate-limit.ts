/**
 * Token buckets per key, per agent, and (for anonymous calls to public apps) per client
 * address: `rate` tokens per second, bursts up to 2x. A call over the limit gets 429
 * rate_limited with Retry-After (whole seconds, at least 1). At most MAX_BUCKETS buckets
 * are kept; the least recently used go first, so a flood of new addresses cannot reset
 * everyone else's buckets.
 */
import ipaddr from "ipaddr.js";
import { AppError } from "../errors";

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;

export class RateLimiter {
  private buckets = new Map<string, Bucket>();

  constructor(private now: () => number = () => performance.now()) {}

  /** rate = tokens per second; 0 disables. Throws rate_limited when empty. */
  take(id: string, rate: number): void {
    if (rate <= 0) return;
    const burst = rate * 2;
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
    b.at = t;
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    this.buckets.delete(id);
    this.buckets.set(id, b);
    if (this.buckets.size > MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / rate));
      throw new AppError("rate_limited", `Rate limit of ${rate} requests/s exceeded.`, { headers: { "retry-after": String(wait) } });
    }
    b.tokens -= 1;
  }
}

/**
 * The rate-limit identity of a client address: an IPv4 address as is (IPv4-mapped IPv6
 * too), an IPv6 address by its /64 prefix, since one subscriber usually holds a whole /64
 * (RFC 6177) and could otherwise rotate addresses to escape the limit. Anything else
 * (unknown address) maps to one shared bucket. Parsing is ipaddr.js's.
 */
export function clientBucket(address: string | null | undefined): string {
  const bare = address?.replace(/%.*$/, "") ?? "";
  if (!ipaddr.isValid(bare)) return "unknown";
  const addr = ipaddr.process(bare);
  if (addr.kind() === "ipv4") return addr.toString();
  return (addr as ipaddr.IPv6).parts.slice(0, 4).map((g) => g.toString(16)).join(":") + "::/64";
}
