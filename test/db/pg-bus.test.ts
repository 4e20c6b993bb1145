/**
 * The PostgreSQL change bus (src/db/pg-bus.ts) with two nodes (two pools, two buses) on one
 * real database: a message published in a transaction reaches both nodes after commit and
 * never on rollback, topics are routed, a killed LISTEN connection triggers onResync and
 * delivery resumes, oversized messages fail their transaction, a throwing handler does not
 * stop the others, and `ignoreOwn` skips the publisher's own echo.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openPostgres, type PgConnection } from "../../src/db/pg-driver";
import { MAX_PAYLOAD_BYTES, PgBus } from "../../src/db/pg-bus";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

type Topics = { "key.changed": { keyHashes: string[] }; "agent.live": { agentId: string } };

/** Waits until `cond` holds (polling every 2 ms), or fails naming `what`. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await Bun.sleep(2)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

describePg("PgBus: the change bus across nodes on PostgreSQL", () => {
  let d: TestDatabase;
  let a: PgConnection;
  let b: PgConnection;
  const errors: string[] = [];
  let busA: PgBus<Topics>;
  let busB: PgBus<Topics>;
  beforeAll(async () => {
    d = await freshDatabase();
    [a, b] = [openPostgres(d.url, { poolMax: 2 }), openPostgres(d.url, { poolMax: 2 })];
    const onError = (e: unknown, topic: string) => void errors.push(`${topic}: ${(e as Error).message}`);
    busA = new PgBus<Topics>(a, { nodeId: "A", onError });
    busB = new PgBus<Topics>(b, { nodeId: "B", onError });
    await Promise.all([busA.start(), busB.start()]);
  });
  afterAll(async () => {
    await Promise.all([busA?.stop(), busB?.stop()]);
    await Promise.all([a?.close(), b?.close()]);
    await d?.drop();
  });

  test("committed messages reach every node, in commit order; rolled-back ones reach none; topics are routed", async () => {
    const seen: string[] = [];
    const offs = [
      busA.subscribe("key.changed", (p) => seen.push(`A key ${p.keyHashes.join(",")}`), () => {}),
      busB.subscribe("key.changed", (p) => seen.push(`B key ${p.keyHashes.join(",")}`), () => {}),
      busB.subscribe("agent.live", (p) => seen.push(`B live ${p.agentId}`), () => {}),
    ];
    try {
      await a.db.transaction((tx) => busA.publish(tx, "key.changed", { keyHashes: ["h1"] }));
      await expect(
        a.db.transaction(async (tx) => {
          await busA.publish(tx, "key.changed", { keyHashes: ["never"] });
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      await b.db.transaction((tx) => busB.publish(tx, "agent.live", { agentId: "ag_1" }));
      await until(() => seen.includes("B live ag_1"), "the agent.live message");
      await until(() => seen.filter((s) => s.endsWith("h1")).length === 2, "h1 on both nodes");
      expect(seen.filter((s) => s.startsWith("B"))).toEqual(["B key h1", "B live ag_1"]);
      expect(seen).toContain("A key h1");
      expect(seen.join()).not.toContain("never");
    } finally {
      offs.forEach((off) => off());
    }
    // Unsubscribed: nothing more arrives.
    await a.db.transaction((tx) => busA.publish(tx, "key.changed", { keyHashes: ["late"] }));
    await Bun.sleep(100);
    expect(seen.join()).not.toContain("late");
  });

  test("a node whose LISTEN connection is killed is told to resync, and receives messages again", async () => {
    let resyncs = 0;
    const got: string[] = [];
    const off = busB.subscribe("agent.live", (p) => got.push(p.agentId), () => resyncs++);
    try {
      // Kill every LISTEN connection on this database (both nodes'): Bun.SQL reconnects and re-LISTENs.
      const [{ n }] = await a.client`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
      expect(n).toBeGreaterThanOrEqual(1);
      await until(() => resyncs >= 1, "onResync after the LISTEN connection was killed", 10_000);
      // B is listening again once its onResync ran; A's own LISTEN does not matter for B.
      await a.db.transaction((tx) => busA.publish(tx, "agent.live", { agentId: "after" }));
      await until(() => got.includes("after"), "delivery after the reconnect");
    } finally {
      off();
    }
  });

  test("a message over PostgreSQL's NOTIFY limit fails its transaction with a clear error and is not delivered", async () => {
    const got: string[] = [];
    const off = busB.subscribe("key.changed", (p) => got.push(p.keyHashes[0]!.slice(0, 4)), () => {});
    try {
      const huge = { keyHashes: ["x".repeat(MAX_PAYLOAD_BYTES)] };
      await expect(a.db.transaction((tx) => busA.publish(tx, "key.changed", huge))).rejects.toThrow(/bus message for "key.changed" is \d+ bytes; PostgreSQL NOTIFY takes at most 7999/);
      await a.db.transaction((tx) => busA.publish(tx, "key.changed", { keyHashes: ["mark"] }));
      await until(() => got.includes("mark"), "the marker");
      expect(got).toEqual(["mark"]);
    } finally {
      off();
    }
  });

  test("a throwing handler is reported and does not stop the other handlers", async () => {
    errors.length = 0;
    const got: string[] = [];
    const offs = [
      busB.subscribe("agent.live", () => {
        throw new Error("handler broke");
      }, () => {}),
      busB.subscribe("agent.live", (p) => got.push(p.agentId), () => {}),
    ];
    try {
      await a.db.transaction((tx) => busA.publish(tx, "agent.live", { agentId: "ag_2" }));
      await until(() => got.includes("ag_2"), "the second handler");
      expect(errors).toContain("agent.live: handler broke");
    } finally {
      offs.forEach((off) => off());
    }
  });

  test("ignoreOwn: the publishing node skips its own echo, the others still get it", async () => {
    const own = new PgBus<Topics>(a, { nodeId: "A2", ignoreOwn: true });
    await own.start();
    const got: string[] = [];
    const offs = [
      own.subscribe("agent.live", (p) => got.push(`own ${p.agentId}`), () => {}),
      busB.subscribe("agent.live", (p) => got.push(`B ${p.agentId}`), () => {}),
    ];
    try {
      await a.db.transaction((tx) => own.publish(tx, "agent.live", { agentId: "ag_3" }));
      await b.db.transaction((tx) => busB.publish(tx, "agent.live", { agentId: "ag_4" }));
      await until(() => got.includes("own ag_4") && got.includes("B ag_3"), "both messages");
      expect(got).not.toContain("own ag_3");
    } finally {
      offs.forEach((off) => off());
      await own.stop();
    }
  });

  test("a LISTEN that silently stops delivering is caught by the heartbeat: subscribers resync until it delivers again", async () => {
    const lonely = new PgBus<Topics>(a, { nodeId: "A3", onError: (e, topic) => errors.push(`${topic}: ${(e as Error).message}`) });
    await lonely.start();
    let resyncs = 0;
    const off = lonely.subscribe("agent.live", () => {}, () => resyncs++);
    try {
      lonely.startHeartbeat(100);
      await Bun.sleep(350);
      expect(resyncs).toBe(0); // heartbeats come back: nothing to do
      // The connection stays up but nothing is delivered any more (what a transaction-mode pooler does).
      await (lonely as unknown as { subscription: { unlisten(): Promise<void> } }).subscription.unlisten();
      await until(() => resyncs >= 2, "repeated resyncs while LISTEN delivers nothing", 3000);
      expect(errors.some((e) => e.startsWith("bus.heartbeat: LISTEN on cantrip_events did not deliver"))).toBe(true);
    } finally {
      off();
      await lonely.stop().catch(() => {});
    }
  });
});
