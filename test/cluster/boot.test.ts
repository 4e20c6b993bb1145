/**
 * Starting a cluster: two real `cantrip serve` processes started together on an EMPTY
 * database both come up, with one workspace, one admin token and each migration applied
 * once (migrations and the bootstrap run under advisory locks; without them one of the two
 * crashed in 7 of 7 runs, per the issue). A node started with another CANTRIP_SECRET_KEY
 * refuses to start with one clear line and exit code 1.
 */
import { afterAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { migrations } from "../../src/db/migrations-pg/embedded";
import { describePg, emptyDatabase, freshDatabase, type TestDatabase } from "../pg/shared";
import { startNode, stopAllNodes } from "./nodes";

describePg("cluster start", () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    await stopAllNodes();
    for (const d of dbs) await d.drop();
  });

  test("two nodes booting together on an empty database: both ready, one workspace, one migration run", async () => {
    const db = await emptyDatabase("boot_");
    dbs.push(db);
    const [a, b] = await Promise.all([startNode({ databaseUrl: db.url, name: "a" }), startNode({ databaseUrl: db.url, name: "b" })]);
    for (const n of [a, b]) expect((await fetch(`${n.url}/readyz`)).status).toBe(200);

    const pg = new SQL({ url: db.url, max: 1 });
    try {
      const [{ n: workspaces }] = await pg`select count(*)::int as n from workspaces`;
      expect(workspaces).toBe(1);
      const applied = await pg`select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash`;
      expect(applied.length).toBe(migrations.length);
      expect(applied.every((r: { n: number }) => r.n === 1)).toBe(true);
    } finally {
      await pg.close();
    }
    // Exactly one node bootstrapped (and wrote the admin token) and exactly one applied the migrations.
    expect([a, b].filter((n) => n.adminToken() !== null)).toHaveLength(1);
    expect([a, b].filter((n) => /database migrated/.test(n.stdout() + n.stderr()))).toHaveLength(1);
    // The token the one node printed works on the other.
    const token = (a.adminToken() ?? b.adminToken())!;
    for (const n of [a, b]) expect((await fetch(`${n.url}/v1/agents`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await Promise.all([a.stop(), b.stop()]);
  });

  test("a node with another CANTRIP_SECRET_KEY refuses to start with one line, exit code 1", async () => {
    const db = await freshDatabase("key_");
    dbs.push(db);
    const a = await startNode({ databaseUrl: db.url, name: "a" });
    const other = Buffer.alloc(32, 99).toString("base64");
    const c = await startNode({ databaseUrl: db.url, name: "c", secretKey: other, waitReady: false });
    const code = await Promise.race([c.exited, Bun.sleep(30_000).then(() => "still running")]);
    expect(code).toBe(1);
    const lines = c.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cantrip: CANTRIP_SECRET_KEY differs from the one this cluster's database was started with .*every node must use the same key$/);
    expect(c.stderr()).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    // It never listened, and the cluster is untouched: A still serves.
    expect(await fetch(`${c.url}/healthz`).then(() => "answered", () => "refused")).toBe("refused");
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    await c.stop();
    await a.stop();
  });
});
