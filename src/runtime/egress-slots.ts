/**
 * Outbound-request slots for guest fetch, shared by every agent. Bun's fetch runs at most
 * 256 requests at once process-wide (BUN_CONFIG_MAX_HTTP_REQUESTS) and queues the rest, so
 * one tenant's calls waiting on a slow upstream (an attacker's server that answers after
 * 9 s) could hold all of them: every other tenant's ctx.fetch, and the platform's own
 * outbound requests (the model provider), would queue behind. Guest requests therefore take
 * a slot here first: at most EGRESS_SLOTS in all (the rest of Bun's 256 stays for the
 * platform), and one workspace (or, unattributed, one agent) at most `share` of them. A
 * request that cannot get a slot waits, in its own fetch timeout, FIFO among the requests
 * that may take the freed slot.
 */

import { shareOf, type ShareSource } from "../lib/tenancy";

/** Guest requests in flight at once, across the process (below Bun's 256). */
export const EGRESS_SLOTS = 192;

interface Waiter {
  key: string;
  go: () => void;
}

export class EgressSlots {
  private inflight = 0;
  private byKey = new Map<string, number>();
  private waiters: Waiter[] = [];

  /** `total`: slots in all; `share`: the fraction (0–1] one key may hold (at least one). */
  constructor(readonly total = EGRESS_SLOTS, private share: ShareSource = 1) {}

  /** The most slots one key may hold. */
  perKey(): number {
    return Math.max(1, Math.floor(this.total * shareOf(this.share)));
  }

  /** Requests `key` has in flight. */
  held(key: string): number {
    return this.byKey.get(key) ?? 0;
  }

  /**
   * Takes a slot for `key`, waiting while none may be taken; resolves to the release
   * function (call it once). Rejects with `signal`'s reason if it aborts first.
   */
  async acquire(key: string, signal: AbortSignal): Promise<() => void> {
    if (!this.mayTake(key) || this.waiters.some((w) => w.key === key)) {
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = { key, go: () => (signal.removeEventListener("abort", abort), resolve()) };
        const abort = () => {
          this.waiters.splice(this.waiters.indexOf(w) >>> 0, 1);
          reject(signal.reason);
        };
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener("abort", abort, { once: true });
        this.waiters.push(w);
      });
    } else this.take(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflight--;
      const n = this.held(key) - 1;
      if (n > 0) this.byKey.set(key, n);
      else this.byKey.delete(key);
      this.pump();
    };
  }

  private mayTake(key: string): boolean {
    return this.inflight < this.total && this.held(key) < this.perKey();
  }

  private take(key: string): void {
    this.inflight++;
    this.byKey.set(key, this.held(key) + 1);
  }

  /** Hands freed slots to the first waiters that may take one (the slot is taken for them here). */
  private pump(): void {
    for (let i = 0; i < this.waiters.length && this.inflight < this.total; ) {
      const w = this.waiters[i]!;
      if (!this.mayTake(w.key)) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.take(w.key);
      w.go();
    }
  }
}
