/**
 * The write gate (src/db/gate.ts) against the trap it exists for (issue 17, scale-out
 * notes §2.4): on one SQLite connection, an "async transaction" that awaits lets other
 * requests' statements run inside it. The first two tests show the trap on a real file
 * (they pass because the trap is real); the others prove the gate: one writer connection
 * behind an async mutex with BEGIN IMMEDIATE, reads on their own connection.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { WriteGate } from "../../src/db/gate";
import { tempDir } from "../harness";

const rows = sqliteTable("t", { v: text("v").notNull() });

function open() {
  const file = join(tempDir(), "gate.db");
  const writer = new Database(file, { create: true, strict: true });
  writer.exec("PRAGMA journal_mode = WAL");
  writer.exec("PRAGMA busy_timeout = 2000");
  writer.exec("CREATE TABLE t (v TEXT NOT NULL)");
  const reader = new Database(file, { strict: true });
  reader.exec("PRAGMA query_only = 1");
  const values = (c: Database) => (c.query("SELECT v FROM t ORDER BY v").all() as { v: string }[]).map((r) => r.v);
  return { writer, reader, values };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test("the trap, drizzle: an awaited callback in db.transaction commits rows the callback then rolls back", async () => {
  const { writer, values } = open();
  const db = drizzle({ client: writer });
  // drizzle's bun-sqlite transaction is synchronous: it commits when the callback returns its promise.
  await (db.transaction(async (tx) => {
    tx.insert(rows).values({ v: "a" }).run();
    await tick();
    tx.insert(rows).values({ v: "b" }).run();
    throw new Error("roll back");
  }) as unknown as Promise<void>).catch(() => {});
  await tick();
  expect(values(writer)).toEqual(["a", "b"]); // "rolled back", yet both stayed
});

test("the trap, one connection: another request's write lands inside an open transaction and is rolled back with it", async () => {
  const { writer, values } = open();
  const a = (async () => {
    writer.exec("BEGIN IMMEDIATE");
    writer.query("INSERT INTO t VALUES ('a')").run();
    await tick(); // request B runs meanwhile
    writer.exec("ROLLBACK");
  })();
  const b = (async () => {
    await Promise.resolve();
    writer.query("INSERT INTO t VALUES ('b')").run(); // "succeeds"
    return "ok";
  })();
  expect(await b).toBe("ok");
  await a;
  expect(values(writer)).toEqual([]); // B's row went with A's rollback
});

test("the gate: B waits for A; A's rollback takes only A's rows; a reader never sees uncommitted rows", async () => {
  const { writer, reader, values } = open();
  const gate = new WriteGate(writer, () => drizzle({ client: writer }));
  let seenDuringA: string[] = [];
  const a = gate
    .tx(async (t) => {
      t.insert(rows).values({ v: "a" }).run();
      await tick();
      seenDuringA = values(reader);
      throw new Error("roll back");
    })
    .catch((e: Error) => e.message);
  const b = gate.tx(async (t) => {
    t.insert(rows).values({ v: "b" }).run();
    return "ok";
  });
  expect(await a).toBe("roll back");
  expect(await b).toBe("ok");
  expect(seenDuringA).toEqual([]);
  expect(values(reader)).toEqual(["b"]);
});

test("the gate: concurrent transactions run one at a time, in order, each atomic", async () => {
  const { writer, reader, values } = open();
  const gate = new WriteGate(writer, () => drizzle({ client: writer }));
  let inside = 0;
  let most = 0;
  const runs = Array.from({ length: 20 }, (_, i) =>
    gate
      .tx(async (t) => {
        most = Math.max(most, ++inside);
        t.insert(rows).values({ v: `${String(i).padStart(2, "0")}-1` }).run();
        await tick();
        t.insert(rows).values({ v: `${String(i).padStart(2, "0")}-2` }).run();
        inside--;
        if (i % 3 === 0) throw new Error("no");
      })
      .catch(() => "rolled back"),
  );
  await Promise.all(runs);
  expect(most).toBe(1);
  const kept = Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 3 !== 0);
  expect(values(reader)).toEqual(kept.flatMap((i) => [`${String(i).padStart(2, "0")}-1`, `${String(i).padStart(2, "0")}-2`]));
});

test("the gate: a tx() inside an open transaction joins it through a savepoint (no self-deadlock); its rollback is its own", async () => {
  const { writer, reader, values } = open();
  const gate = new WriteGate(writer, () => drizzle({ client: writer }));
  await gate.tx(async (t) => {
    t.insert(rows).values({ v: "outer" }).run();
    await gate.tx(async (u) => u.insert(rows).values({ v: "inner-kept" }).run());
    await gate
      .tx(async (u) => {
        u.insert(rows).values({ v: "inner-dropped" }).run();
        throw new Error("no");
      })
      .catch(() => {});
    expect(gate.inTransaction()).toBe(true);
  });
  expect(gate.inTransaction()).toBe(false);
  expect(values(reader)).toEqual(["inner-kept", "outer"]);
});

test("the gate: an error that makes SQLite roll back the whole transaction (disk full) fails the savepoints after it and the transaction, and commits nothing", async () => {
  const { writer, reader, values } = open();
  const gate = new WriteGate(writer, () => drizzle({ client: writer }));
  const pages = (writer.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  writer.exec(`PRAGMA max_page_count = ${pages + 4}`); // room for a short row, not for 200 KB
  const outcomes: string[] = [];
  const step = (v: string) =>
    gate.tx(async (u) => u.insert(rows).values({ v }).run()).then(
      () => outcomes.push("ok"),
      (e: Error) => outcomes.push(e.message),
    );
  const whole = gate.tx(async () => {
    // Independent steps sharing one transaction, each in its savepoint (kv's group commit).
    await step("a");
    await step("x".repeat(200_000)); // SQLITE_FULL: SQLite rolls back the transaction, "a" with it
    await step("c"); // would run in autocommit, committed at once, were it not refused
  });
  await expect(whole).rejects.toThrow(/full/);
  expect(outcomes).toEqual(["ok", "database or disk is full", "database or disk is full"]);
  expect(gate.inTransaction()).toBe(false);
  expect(values(reader)).toEqual([]);
  writer.exec("PRAGMA max_page_count = 1073741823");
  await gate.tx(async (t) => t.insert(rows).values({ v: "after" }).run());
  expect(values(reader)).toEqual(["after"]);
});
