/**
 * The change bus (src/db/bus.ts) through the write gate's commit hooks: a message published
 * inside a transaction reaches subscribers after COMMIT and before tx() resolves; a
 * rollback (of the transaction or of a joined savepoint) drops it; resync reaches every
 * subscriber's onResync.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { LocalBus, type Topic, type Topics } from "../../src/db/bus";
import { WriteGate } from "../../src/db/gate";

function setup() {
  const conn = new Database(":memory:");
  conn.exec("CREATE TABLE t (v TEXT)");
  const bus = new LocalBus();
  const gate = new WriteGate(conn, (onCommit) => ({
    insert: (v: string) => conn.query("INSERT INTO t VALUES (?)").run(v),
    publish: <K extends Topic>(topic: K, payload: Topics[K]) => onCommit(() => bus.deliver(topic, payload)),
  }));
  const count = () => (conn.query("SELECT count(*) AS n FROM t").get() as { n: number }).n;
  return { bus, gate, count };
}

test("published in a transaction: delivered once it commits, before tx() resolves, with the row visible", async () => {
  const { bus, gate, count } = setup();
  const got: { agentId: string; rows: number }[] = [];
  bus.subscribe("agent.live", (m) => got.push({ agentId: m.agentId, rows: count() }), () => {});
  const done = gate.tx(async (t) => {
    t.insert("x");
    t.publish("agent.live", { agentId: "agent_1" });
    await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual([]); // not before the commit
  });
  await done;
  expect(got).toEqual([{ agentId: "agent_1", rows: 1 }]);
});

test("a rollback drops the message; a joined savepoint's rollback drops only its own", async () => {
  const { bus, gate } = setup();
  const got: string[] = [];
  bus.subscribe("agent.deleted", (m) => got.push(m.agentId), () => {});
  await gate
    .tx(async (t) => {
      t.publish("agent.deleted", { agentId: "gone" });
      throw new Error("no");
    })
    .catch(() => {});
  expect(got).toEqual([]);
  await gate.tx(async (t) => {
    t.publish("agent.deleted", { agentId: "outer" });
    await gate
      .tx(async (u) => {
        u.publish("agent.deleted", { agentId: "inner" });
        throw new Error("no");
      })
      .catch(() => {});
  });
  expect(got).toEqual(["outer"]);
});

test("topics are separate; a throwing handler does not stop the others; unsubscribe stops delivery", async () => {
  const errors: string[] = [];
  const conn = new Database(":memory:");
  const bus = new LocalBus((e, topic) => errors.push(`${topic}: ${(e as Error).message}`));
  const gate = new WriteGate(conn, (onCommit) => ({ publish: <K extends Topic>(k: K, p: Topics[K]) => onCommit(() => bus.deliver(k, p)) }));
  const got: string[] = [];
  bus.subscribe("key.changed", () => {
    throw new Error("broken cache");
  }, () => {});
  const off = bus.subscribe("key.changed", (m) => got.push(m.keyHashes.join(",")), () => {});
  bus.subscribe("token.changed", (m) => got.push(`token ${m.tokenHash}`), () => {});
  await gate.tx((t) => t.publish("key.changed", { keyHashes: ["h1", "h2"] }));
  off();
  await gate.tx((t) => t.publish("key.changed", { keyHashes: ["h3"] }));
  expect(got).toEqual(["h1,h2"]);
  expect(errors).toEqual(["key.changed: broken cache", "key.changed: broken cache"]);
});

test("resync calls every subscriber's onResync (what a Postgres LISTEN reconnect triggers)", () => {
  const bus = new LocalBus();
  const cleared: string[] = [];
  bus.subscribe("agent.live", () => {}, () => cleared.push("live"));
  bus.subscribe("key.changed", () => {}, () => cleared.push("keys"));
  bus.resync();
  expect(cleared.sort()).toEqual(["keys", "live"]);
});
