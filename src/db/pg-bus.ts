/**
 * The change bus across nodes on PostgreSQL (cluster mode; docs/ARCHITECTURE.md "PostgreSQL
 * (in progress)"): a writer publishes `(topic, payload)` inside its transaction as a NOTIFY
 * on one channel, so PostgreSQL delivers it to every node's LISTEN connection when the
 * transaction commits and drops it when it rolls back; each node hands it to the handlers of
 * that topic. Notifications sent while a node's LISTEN connection is down are lost, so every
 * (re)subscription calls each subscriber's `onResync`, which must drop everything it cached.
 * The subscriber side has the shape of the SQLite in-process bus (issue 17's `bus.ts`):
 * `subscribe(topic, handler, onResync)`. The driver stays in pg-driver.ts.
 */
import { randomBytes } from "node:crypto";
import { Subscribers } from "./bus";
import { listen, notify, type PgConnection, type PgExecutor } from "./pg-driver";

/** The channel every node LISTENs on (one channel: one LISTEN, one ordering). */
export const BUS_CHANNEL = "cantrip_events";

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more (the envelope included). */
export const MAX_PAYLOAD_BYTES = 7999;

/** The topic of a node's heartbeat to itself (never handed to subscribers). */
const HEARTBEAT = "bus.heartbeat";

/** What travels in a notification: the publishing node, the topic and the payload. */
interface Envelope {
  n: string;
  t: string;
  p: unknown;
}

/** How a PgBus names itself, filters its own messages and reports errors. */
export interface PgBusOptions {
  /** This node's id, carried in every message (default: random). */
  nodeId?: string;
  /**
   * Skip messages this node published (for a writer that already delivered them locally at
   * commit, so its own caches are right before the write returns). Default false.
   */
  ignoreOwn?: boolean;
  /** Receives handler errors and unreadable notifications (default: rethrown asynchronously). */
  onError?: (e: unknown, topic: string) => void;
  channel?: string;
}

/**
 * The bus for topics `T` (a map from topic to payload type). `start()` before use, `stop()`
 * at shutdown. `subscribe` (from Subscribers) takes committed messages from every node;
 * `onResync` runs on every (re)subscription of the LISTEN connection. A handler runs after the publishing transaction committed, on every node
 * (within a few milliseconds on a LAN; bench/pg.ts measures NOTIFY → callback).
 */
export class PgBus<T extends object> extends Subscribers<T> {
  readonly nodeId: string;
  private readonly channel: string;
  private subscription: { unlisten(): Promise<void> } | undefined;
  private heartbeat: { timer: ReturnType<typeof setInterval>; sent: number; seen: number } | undefined;

  constructor(
    private readonly pg: PgConnection,
    private readonly opts: PgBusOptions = {},
  ) {
    super(opts.onError);
    this.nodeId = opts.nodeId ?? randomBytes(6).toString("hex");
    this.channel = opts.channel ?? BUS_CHANNEL;
  }

  /** LISTENs on the channel; resolves once the server acknowledged it. */
  async start(): Promise<void> {
    this.subscription ??= await listen(this.pg.client, this.channel, (raw) => this.receive(raw), () => this.resync());
  }

  /**
   * The backstop for a LISTEN that stops delivering without the connection dropping (e.g. a
   * PgBouncer in transaction mode, or a proxy that swallows notifications): every
   * `intervalMs` this node NOTIFYs itself; when the previous heartbeat has not come back by
   * the next tick, messages may have been lost, so every subscriber is told to resync
   * (caches clear, as after a reconnect) and `onError` reports it once per outage. A cache
   * is therefore never staler than about two intervals, whatever happens to LISTEN.
   */
  startHeartbeat(intervalMs: number): void {
    if (this.heartbeat) return;
    const hb = { sent: 0, seen: 0, timer: undefined as unknown as ReturnType<typeof setInterval> };
    let reported = false;
    hb.timer = setInterval(() => {
      if (hb.sent > hb.seen) {
        this.resync();
        if (!reported) this.onError(new Error(`LISTEN on ${this.channel} did not deliver this node's heartbeat within ${intervalMs} ms: caches are cleared every ${intervalMs} ms until it does (a pooler in transaction mode drops notifications)`), HEARTBEAT);
        reported = true;
      } else reported = false;
      const message = JSON.stringify({ n: this.nodeId, t: HEARTBEAT, p: ++hb.sent } satisfies Envelope);
      this.pg.client`select pg_notify(${this.channel}, ${message})`.catch((e: unknown) => this.onError(e, HEARTBEAT));
    }, intervalMs);
    (hb.timer as { unref?: () => void }).unref?.();
    this.heartbeat = hb;
  }

  /** UNLISTENs (the pool itself belongs to the caller). */
  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat.timer);
    this.heartbeat = undefined;
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.unlisten();
  }

  /**
   * Queues `(topic, payload)` in the transaction `tx`: delivered to every node when it
   * commits, never when it rolls back. Throws (failing the caller's transaction) when the
   * message would exceed PostgreSQL's NOTIFY limit: publish ids, not rows.
   */
  async publish<K extends keyof T & string>(tx: PgExecutor, topic: K, payload: T[K]): Promise<void> {
    const message = JSON.stringify({ n: this.nodeId, t: topic, p: payload } satisfies Envelope);
    const bytes = Buffer.byteLength(message);
    if (bytes > MAX_PAYLOAD_BYTES)
      throw new Error(`bus message for "${topic}" is ${bytes} bytes; PostgreSQL NOTIFY takes at most ${MAX_PAYLOAD_BYTES} (publish ids, not rows)`);
    await notify(tx, this.channel, message);
  }

  private receive(raw: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(raw) as Envelope;
      if (typeof env?.t !== "string" || typeof env.n !== "string") throw new Error("not a bus envelope");
    } catch (e) {
      this.onError(new Error(`unreadable notification on ${this.channel}: ${(e as Error).message}`), "(unreadable)");
      return;
    }
    if (env.t === HEARTBEAT) {
      if (env.n === this.nodeId && this.heartbeat && typeof env.p === "number") this.heartbeat.seen = Math.max(this.heartbeat.seen, env.p);
      return;
    }
    if (this.opts.ignoreOwn && env.n === this.nodeId) return;
    this.deliver(env.t as keyof T & string, env.p as T[keyof T & string]);
  }
}
