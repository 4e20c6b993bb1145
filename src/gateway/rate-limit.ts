/**
 * Token buckets per key and per agent: `rate` tokens per second, bursts up to 2x. A call
 * over the limit gets 429 rate_limited with Retry-After (whole seconds, at least 1).
 */
import { AppError } from "../errors";

interface Bucket {
  tokens: number;
  at: number;
}

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
    if (b.tokens < 1) {
      this.buckets.set(id, b);
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / rate));
      throw new AppError("rate_limited", `Rate limit of ${rate} requests/s exceeded.`, { headers: { "retry-after": String(wait) } });
    }
    b.tokens -= 1;
    this.buckets.set(id, b);
    if (this.buckets.size > 100_000) this.buckets.clear();
  }
}
