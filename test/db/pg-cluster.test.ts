/**
 * Cluster coordination rows (src/db/pg-cluster.ts) with several nodes (pools) on one real
 * database: a chore is claimed by exactly one of many concurrent claimers per interval, and
 * a node started with another CANTRIP_SECRET_KEY is refused with one line, also when two
 * nodes start on an empty database at once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ConfigError } from "../../src/config/load";
import { checkClusterSecret, claimSingleton, secretFingerprint } from "../../src/db/pg-cluster";
import { openPostgres, type PgConnection } from "../../src/db/pg-driver";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

test("the secret-key fingerprint is stable per key, differs between keys and does not contain the key", () => {
  const key = randomBytes(32);
  expect(secretFingerprint(key)).toBe(secretFingerprint(Buffer.from(key)));
  expect(secretFingerprint(key)).not.toBe(secretFingerprint(randomBytes(32)));
  expect(secretFingerprint(key)).toMatch(/^[0-9a-f]{32}$/);
  expect(key.toString("hex")).not.toContain(secretFingerprint(key));
});

describePg("cluster coordination on PostgreSQL", () => {
  let d: TestDatabase;
  let nodes: PgConnection[];
  beforeAll(async () => {
    d = await freshDatabase();
    nodes = [0, 1, 2].map(() => openPostgres(d.url, { poolMax: 4 }));
  });
  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.close()));
    await d?.drop();
  });

  /** 3 nodes × 4 concurrent claims of `name` at `now`: how many won. */
  const race = async (name: string, intervalMs: number, now?: number) =>
    (await Promise.all(nodes.flatMap((n) => [0, 1, 2, 3].map(() => claimSingleton(n.db, name, intervalMs, now))))).filter(Boolean).length;

  test("claimSingleton: one winner among 12 concurrent claimers per interval, none before it has passed, chores independent", async () => {
    const t0 = 1_800_000_000_000;
    expect(await race("prune", 60_000, t0)).toBe(1); // first run ever
    expect(await race("prune", 60_000, t0 + 59_999)).toBe(0); // interval not over
    expect(await race("monitor", 60_000, t0 + 59_999)).toBe(1); // another chore
    expect(await race("prune", 60_000, t0 + 60_000)).toBe(1);
    for (let i = 2; i < 12; i++) expect(await race("prune", 60_000, t0 + i * 60_000)).toBe(1);
    // On the database's clock (the default): a second claim right after the first loses.
    expect(await race("heal", 60_000)).toBe(1);
    expect(await race("heal", 60_000)).toBe(0);
  });

  test("checkClusterSecret: nodes with the cluster's key start, a node with another key is refused with one line", async () => {
    const key = randomBytes(32);
    await checkClusterSecret(nodes[0]!.db, key);
    await checkClusterSecret(nodes[1]!.db, Buffer.from(key));
    const other = randomBytes(32);
    let err: unknown;
    try {
      await checkClusterSecret(nodes[2]!.db, other);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toStartWith("CANTRIP_SECRET_KEY differs from the one this cluster's database was started with");
    expect(message).not.toContain("\n");
    expect(message).not.toContain(other.toString("base64"));
  });

  test("checkClusterSecret: two nodes with different keys starting on one empty database at once: exactly one is refused", async () => {
    const empty = await freshDatabase();
    const pair = [openPostgres(empty.url, { poolMax: 2 }), openPostgres(empty.url, { poolMax: 2 })];
    try {
      const results = await Promise.allSettled(pair.map((n) => checkClusterSecret(n.db, randomBytes(32))));
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    } finally {
      await Promise.all(pair.map((n) => n.close()));
      await empty.drop();
    }
  });
});
