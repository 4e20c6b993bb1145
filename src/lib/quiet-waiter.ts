/**
 * Lets background work yield to the calls a server is answering: `begin()`/`end()` count calls
 * in flight, and `quiet()` resolves once none is (src/boot.ts builds its control plane in steps
 * separated by `quiet()`, so a restart's first calls are not queued behind it).
 */

/** Resolves on a later turn of the event loop, after the I/O that is ready (accepted connections, requests) has been handled. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Counts calls in flight (begin/end). `quiet()` resolves on a later turn of the event loop once
 * none is, or after `maxWaitMs` (milliseconds) of waiting, so work that waits on a server busy
 * from its first moment still goes ahead. Never rejects.
 */
export class QuietWaiter {
  private calls = 0;
  private readonly waiting = new Set<() => void>();
  constructor(private readonly maxWaitMs = 100) {}

  begin(): void {
    this.calls++;
  }

  end(): void {
    if (--this.calls === 0) for (const wake of [...this.waiting]) wake();
  }

  async quiet(): Promise<void> {
    await nextTurn();
    if (this.calls === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.maxWaitMs);
      this.waiting.add(done);
    });
    await nextTurn(); // (the answer that ended the wait is written first)
  }
}
