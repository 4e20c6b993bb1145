/**
 * The change bus: writers announce what they changed (`publish(topic, payload)` on the
 * transaction handle), readers that keep copies of rows (the agent-key cache, the live
 * agent cache, the platform-token cache) `subscribe` and drop what changed. A message is
 * delivered only once its transaction has committed, and never when it rolls back, so a
 * cache can never be told about a change that did not happen, nor refilled from a row that
 * is about to change back.
 *
 * This is the in-process bus for one SQLite file: delivery happens synchronously after
 * COMMIT, before the writer's `tx()` resolves (so a revoked key is refused before the revoke
 * call returns to its caller). A Postgres implementation (issue 18) keeps the same interface
 * with NOTIFY sent inside the transaction and LISTEN on every node; a subscriber's
 * `onResync` runs whenever messages may have been missed (the LISTEN connection was
 * re-established), and must drop everything it cached. In-process, nothing can be missed;
 * `resync()` exists for that contract (tests, and an operator's restore).
 */
import { rethrowLater } from "../lib/rethrow-later";

/** A topic's payload: small and JSON-serialisable (a NOTIFY payload stays under 8000 bytes). */
export type BusPayload = string | number | boolean | null | { [k: string]: BusPayload } | BusPayload[];

/** The topics cantrip publishes, with what each payload names. */
export interface Topics {
  /** An agent's live state changed (deploy, rollback, stop, limits, grants, delete): drop its live-cache entry. */
  "agent.live": { agentId: string };
  /** An agent was deleted: drop its keys, live entry and buffered log rows. */
  "agent.deleted": { agentId: string };
  /** API keys changed status (revoke, rotate): drop these key hashes. */
  "key.changed": { keyHashes: string[] };
  /** A platform token was revoked or created: drop it (by hash) from the token cache. */
  "token.changed": { tokenHash: string };
  /** A job became claimable now (enqueued, or requeued by a restart or shutdown): idle queues registered for `kind` claim at once (src/jobs/queue.ts). */
  "job.queued": { jobId: string; kind: string };
  /** Job events were committed for `jobId`, the last with id `eventId`: subscribers read job_events after what they saw (src/jobs/events.ts). */
  "job.event": { jobId: string; eventId: number };
  /** A cancel was requested for a running job: the node running it stops it now, not at its next heartbeat (src/jobs/queue.ts). */
  "job.cancel": { jobId: string };
}

export type Topic = keyof Topics;

export type Unsubscribe = () => void;

/** The subscriber side of the bus (what caches are given). */
export interface BusSubscriber {
  /**
   * Calls `handler` with each committed message on `topic`, and `onResync` whenever
   * messages may have been lost (the subscriber must then forget everything it derived).
   * A handler that throws is reported and does not stop other handlers.
   */
  subscribe<K extends Topic>(topic: K, handler: (payload: Topics[K]) => void, onResync: () => void): Unsubscribe;
}

/**
 * The subscriber registry every bus shares (this in-process one, and PostgreSQL's in
 * pg-bus.ts): handlers per topic, resync callbacks, and delivery in which a handler that
 * throws is reported to `onError` and does not stop the others. `T` maps topic to payload.
 */
export class Subscribers<T extends object> {
  private handlers = new Map<keyof T, Set<(payload: never) => void>>();
  private resyncs = new Set<() => void>();

  /** `onError`: how a handler's error is reported (default: rethrown on a microtask, so it reaches the last resort without stopping the other handlers). */
  constructor(protected readonly onError: (e: unknown, topic: string) => void = rethrowLater) {}

  subscribe<K extends keyof T & string>(topic: K, handler: (payload: T[K]) => void, onResync: () => void): Unsubscribe {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    const h = handler as (payload: never) => void;
    set.add(h);
    this.resyncs.add(onResync);
    return () => {
      set!.delete(h);
      this.resyncs.delete(onResync);
    };
  }

  /** Hands one committed message to the topic's handlers. */
  deliver<K extends keyof T & string>(topic: K, payload: T[K]): void {
    for (const h of this.handlers.get(topic) ?? []) {
      try {
        (h as (p: T[K]) => void)(payload);
      } catch (e) {
        this.onError(e, topic);
      }
    }
  }

  /** Tells every subscriber that messages may have been missed. */
  resync(): void {
    for (const r of this.resyncs) {
      try {
        r();
      } catch (e) {
        this.onError(e, "resync");
      }
    }
  }
}

/** The in-process bus. `deliver` is called by the transaction's commit hook. */
export class LocalBus extends Subscribers<Topics> implements BusSubscriber {}
