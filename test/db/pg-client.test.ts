/**
 * The PostgreSQL `Db` (src/db/pg-client.ts) as two nodes see it: two `openPostgresDb` on one
 * real database. A `tx()` commits or rolls back as a whole; a nested `tx()` joins through a
 * savepoint whose rollback keeps the outer work and drops the hooks and messages registered
 * inside it; a published message reaches the publishing node before its `tx()` resolves and
 * the other node after commit, never on rollback; `t.lock` serialises two transactions of a
 * check-then-insert (without it both insert); the schema's table bindings point at the
 * PostgreSQL twins while it is open, and a SQLite database cannot be opened beside it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { openPostgresDb, type OpenedPostgres } from "../../src/db/pg-client";
import { openDatabase } from "../../src/db/client";
import * as schema from "../../src/db/schema";
import * as pgSchema from "../../src/db/schema.pg";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await Bun.sleep(2)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

describePg("openPostgresDb: the data layer on PostgreSQL", () => {
  let d: TestDatabase;
  let a: OpenedPostgres;
  let b: OpenedPostgres;
  beforeAll(async () => {
    d = await freshDatabase();
    a = await openPostgresDb(d.url, { poolMax: 4, nodeId: "A" });
    b = await openPostgresDb(d.url, { poolMax: 4, nodeId: "B" });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await d?.drop();
  });

  const workspace = (id: string) => ({ id, name: id });

  test("while open, the schema's tables are the PostgreSQL twins; opening SQLite points them back", async () => {
    expect(schema.dialect()).toBe("postgres");
    expect(schema.workspaces as unknown).toBe(pgSchema.workspaces);
    expect(schema.invocations as unknown).toBe(pgSchema.invocations);
    const dir = mkdtempSync(join(tmpdir(), "cantrip-dialect-"));
    try {
      const lite = openDatabase(join(dir, "x.db"));
      expect(schema.dialect()).toBe("sqlite");
      lite.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      schema.useDialect("postgres");
    }
  });

  test("a transaction commits as a whole or not at all; a nested one rolls back to its savepoint only", async () => {
    const hooks: string[] = [];
    await a.db.tx(async (t) => {
      await t.insert(schema.workspaces).values(workspace("ws_outer"));
      t.onCommit(() => hooks.push("outer"));
      await expect(
        a.db.tx(async (t2) => {
          await t2.insert(schema.workspaces).values(workspace("ws_inner"));
          t2.onCommit(() => hooks.push("inner"));
          throw new Error("inner fails");
        }),
      ).rejects.toThrow("inner fails");
      expect(hooks).toEqual([]);
    });
    expect(hooks).toEqual(["outer"]);
    await expect(
      a.db.tx(async (t) => {
        await t.insert(schema.workspaces).values(workspace("ws_gone"));
        throw new Error("outer fails");
      }),
    ).rejects.toThrow("outer fails");
    const ids = (await b.db.select({ id: schema.workspaces.id }).from(schema.workspaces)).map((r) => r.id).sort();
    expect(ids).toEqual(["ws_outer"]);
  });

  test("a published message reaches this node before tx() resolves, the other node after commit, and no node on rollback", async () => {
    const seenA: string[] = [];
    const seenB: string[] = [];
    const offA = a.db.bus.subscribe("agent.live", (p) => seenA.push(p.agentId), () => {});
    const offB = b.db.bus.subscribe("agent.live", (p) => seenB.push(p.agentId), () => {});
    try {
      await a.db.tx(async (t) => {
        t.publish("agent.live", { agentId: "ag_1" });
        expect(seenA).toEqual([]);
      });
      expect(seenA).toEqual(["ag_1"]);
      await expect(
        a.db.tx(async (t) => {
          t.publish("agent.live", { agentId: "ag_never" });
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      await a.db.tx(async (t) => {
        await expect(
          a.db.tx(async (t2) => {
            t2.publish("agent.live", { agentId: "ag_savepoint" });
            throw new Error("savepoint rolled back");
          }),
        ).rejects.toThrow();
        t.publish("agent.live", { agentId: "ag_2" });
      });
      await until(() => seenB.includes("ag_2"), "ag_2 on node B");
      await Bun.sleep(50);
      expect(seenB).toEqual(["ag_1", "ag_2"]);
      // Node A ignores its own notification: it delivered at commit already.
      expect(seenA).toEqual(["ag_1", "ag_2"]);
    } finally {
      offA();
      offB();
    }
  });

  test("t.lock serialises a check-then-insert across nodes; without it both transactions insert", async () => {
    const insertIfAbsent = (db: OpenedPostgres["db"], name: string, id: string, lock: boolean) =>
      db.tx(async (t) => {
        if (lock) await t.lock(`test:${name}`);
        const there = await t.select({ id: schema.workspaces.id }).from(schema.workspaces).where(eq(schema.workspaces.name, name));
        await Bun.sleep(30); // both transactions have read before either writes
        if (there.length === 0) await t.insert(schema.workspaces).values({ id, name });
      });
    const count = async (name: string) => (await a.db.select().from(schema.workspaces).where(eq(schema.workspaces.name, name))).length;
    await Promise.all([insertIfAbsent(a.db, "unlocked", "ws_u1", false), insertIfAbsent(b.db, "unlocked", "ws_u2", false)]);
    expect(await count("unlocked")).toBe(2);
    await Promise.all([insertIfAbsent(a.db, "locked", "ws_l1", true), insertIfAbsent(b.db, "locked", "ws_l2", true)]);
    expect(await count("locked")).toBe(1);
  });
});
