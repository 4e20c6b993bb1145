import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../db";
import { KV_BATCH_BYTES, KV_BATCH_MAX, createSqliteKv, prefixEnd } from "./kv-sqlite";

/** A database file in a fresh temp dir with agents "a" and "b"; `run` gets it, and it is removed after. */
async function withAgents(run: (db: OpenedDatabase, file: string) => Promise<void>, opts: { busyTimeoutMs?: number } = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-kv-"));
  const file = join(dir, "kv.db");
  const db = openDatabase(file, opts);
  try {
    db.sqlite.run("INSERT INTO workspaces (id, name) VALUES ('ws', 'test')");
    for (const id of ["a", "b"]) db.sqlite.run("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws', ?, ?, 'deployed')", [id, id, id]);
    await run(db, file);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Watches the writer connection's transactions (the gate runs BEGIN, SAVEPOINT and COMMIT on
 * it): `commits` so far, and `most`, the largest number of writes (savepoints) one transaction
 * held since the last `most = 0`.
 */
function watchTransactions(db: OpenedDatabase): { commits: number; most: number } {
  const seen = { commits: 0, most: 0 };
  let inTx = 0;
  const exec = db.sqlite.exec.bind(db.sqlite);
  db.sqlite.exec = ((sql: string, ...rest: []) => {
    if (sql.startsWith("SAVEPOINT")) seen.most = Math.max(seen.most, ++inTx);
    if (sql === "COMMIT") (seen.commits++, (inTx = 0));
    return exec(sql, ...rest);
  }) as typeof db.sqlite.exec;
  return seen;
}

test("the running per-agent total follows overwrites, deletes and refusals, per agent, and starts from the rows on disk", () =>
  withAgents(async (db) => {
    // Rows written before this store existed (an earlier process) count from the first write.
    db.sqlite.run("INSERT INTO kv (agent_id, key, value, size, updated_at) VALUES ('a', 'old', '\"xxxxxxx\"', 12, 0)");
    const kv = createSqliteKv(db.db);
    const limits = { kvValueBytes: 100, kvTotalBytes: 50 }; // size = key bytes + JSON text bytes
    await kv.set("a", "k1", "x".repeat(18), limits); // 2 + 20 = 22; total 34
    expect(() => kv.set("a", "k2", "x".repeat(18), limits)).toThrow(/would use 56 bytes/);
    await kv.set("a", "k1", "x".repeat(34), limits); // overwrite: 2 + 36 = 38 replaces 22; total 50
    expect(() => kv.set("a", "k3", 1, limits)).toThrow(/would use 53 bytes/);
    await kv.set("b", "k3", "x".repeat(40), limits); // another agent has its own total
    expect(await kv.delete("a", "old")).toBe(true);
    expect(await kv.delete("a", "old")).toBe(false);
    await kv.set("a", "k3", 1, limits); // total 38 + 3 = 41
    expect(() => kv.set("a", "k4", "x".repeat(6), limits)).toThrow(/would use 51 bytes/); // 2 + 8 = 10
    expect(db.sqlite.query<{ t: number }, [string]>("SELECT sum(size) AS t FROM kv WHERE agent_id = ?").get("a")!.t).toBe(41);
  }));

test("concurrent writes share transactions (group commit), and each keeps its own outcome and the quota holds", () =>
  withAgents(async (db) => {
    const kv = createSqliteKv(db.db);
    const tx = watchTransactions(db);
    const limits = { kvValueBytes: 20, kvTotalBytes: 50 }; // size = key bytes + JSON text bytes
    const writes = [
      ...Array.from({ length: 30 }, (_, i) => kv.set("b", `k${i}`, i, { ...limits, kvTotalBytes: 1000 })), // another agent, room for all
      kv.set("a", "big", "x".repeat(30), limits), // over the value limit: refused alone
      ...Array.from({ length: 8 }, (_, i) => kv.set("a", `q${i}`, "xxxx", limits)), // 2 + 6 = 8 each: six fit in 50
    ];
    const settled = await Promise.allSettled(writes);
    expect(settled.slice(0, 30).every((r) => r.status === "fulfilled")).toBe(true);
    expect(String((settled[30] as PromiseRejectedResult).reason)).toMatch(/over the limit of 20 bytes/);
    const quota = settled.slice(31);
    expect(quota.filter((r) => r.status === "fulfilled").length).toBe(6);
    for (const r of quota) if (r.status === "rejected") expect(String(r.reason)).toMatch(/over this agent's limit of 50 bytes/);
    // 39 writes, far fewer transactions: a transaction per write committed 39 times.
    expect(tx.commits).toBeGreaterThan(0);
    expect(tx.commits).toBeLessThanOrEqual(3);
    const sum = (agent: string) => db.sqlite.query<{ t: number; n: number }, [string]>("SELECT sum(size) AS t, count(*) AS n FROM kv WHERE agent_id = ?").get(agent)!;
    expect(sum("a")).toEqual({ t: 48, n: 6 });
    expect(sum("b").n).toBe(30);
    // The committed totals carry on: two more bytes fit agent a, three do not.
    await kv.set("a", "z", 1, limits); // 1 + 1 = 2: total 50
    await expect(kv.set("a", "y", 1, limits)).rejects.toThrow(/would use 52 bytes/);
  }));

test("a batch stops taking writes once it has written KV_BATCH_BYTES (large values) or taken KV_BATCH_MAX, and the rest follow in order", () =>
  withAgents(async (db) => {
    const kv = createSqliteKv(db.db);
    // Writes per transaction: the gate opens a savepoint per write.
    const tx = watchTransactions(db);
    // One agent overwriting 8 keys with values near the 256 KiB limit from 64 concurrent
    // kv.set calls, within its quota: in one transaction they held the event loop ~55 ms.
    const limits = { kvValueBytes: 256 * 1024, kvTotalBytes: 16 * 1024 * 1024 };
    const big = "x".repeat(200_000);
    await Promise.all(Array.from({ length: 64 }, (_, i) => kv.set("a", `k${i % 8}`, big + i, limits)));
    expect(tx.most).toBeLessThanOrEqual(Math.ceil(KV_BATCH_BYTES / 200_000));
    expect(tx.commits).toBeGreaterThanOrEqual(Math.floor((64 * 200_000) / (KV_BATCH_BYTES + 200_000)));
    // In order: each key holds its last write.
    for (let j = 0; j < 8; j++) expect(await kv.get("a", `k${j}`)).toBe(big + (56 + j));
    // Deletes count the bytes they remove.
    tx.most = 0;
    expect(await Promise.all(Array.from({ length: 8 }, (_, j) => kv.delete("a", `k${j}`)))).toEqual(Array(8).fill(true));
    expect(tx.most).toBeLessThanOrEqual(Math.ceil(KV_BATCH_BYTES / 200_000));
    // Small writes still share one transaction.
    tx.most = 0;
    await Promise.all(Array.from({ length: 200 }, (_, i) => kv.set("b", `s${i}`, i, limits)));
    expect(tx.most).toBe(200);
    // ... at most KV_BATCH_MAX of them; the rest follow, in order.
    tx.most = 0;
    await Promise.all(Array.from({ length: KV_BATCH_MAX + 44 }, (_, i) => kv.set("b", `m${i % 50}`, i, limits)));
    expect(tx.most).toBe(KV_BATCH_MAX);
    for (let j = 0; j < 50; j++) expect(await kv.get("b", `m${j}`)).toBe(KV_BATCH_MAX - 6 + j);
  }));

test("a write that fills the disk, in a batch with other agents' writes: no write reported failed is stored, and the totals stay the rows", () =>
  withAgents(async (db) => {
    const kv = createSqliteKv(db.db);
    const limits = { kvValueBytes: 256 * 1024, kvTotalBytes: 1024 * 1024 };
    await kv.set("b", "seed", 1, limits);
    const pages = db.sqlite.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
    db.sqlite.exec(`PRAGMA max_page_count = ${pages + 8}`); // room for small rows, not for a 200 KB value
    // SQLITE_FULL rolls SQLite's whole transaction back, not just the statement: the writes after
    // it in the batch had run in autocommit (stored) and were then rejected with the batch.
    const settled = await Promise.allSettled([kv.set("b", "k1", 1, limits), kv.set("a", "big", "x".repeat(200_000), limits), kv.set("b", "k2", 2, limits)]);
    const has = (agent: string, key: string) => db.sqlite.query("SELECT 1 FROM kv WHERE agent_id = ? AND key = ?").get(agent, key) !== null;
    expect([has("b", "k1"), has("a", "big"), has("b", "k2")]).toEqual(settled.map((s) => s.status === "fulfilled"));
    db.sqlite.exec("PRAGMA max_page_count = 1073741823");
    // The in-memory total is the rows': agent b fills its limit exactly, and not a byte more.
    const used = db.sqlite.query<{ t: number }, [string]>("SELECT sum(size) AS t FROM kv WHERE agent_id = ?").get("b")!.t;
    const small = { kvValueBytes: 1024, kvTotalBytes: 64 };
    await kv.set("b", "f", "x".repeat(64 - used - 3), small); // 1 + (n + 2)
    await expect(kv.set("b", "g", 1, small)).rejects.toThrow(/over this agent's limit of 64 bytes/);
  }));

test("writes waiting while another connection holds the file's write lock past the busy timeout fail, as a transaction of their own would", () =>
  withAgents(
    async (db, file) => {
      const kv = createSqliteKv(db.db);
      const limits = { kvValueBytes: 1000, kvTotalBytes: 100_000 };
      const other = new Database(file);
      try {
        other.exec("BEGIN IMMEDIATE");
        // The batch's BEGIN failed and its writes stayed queued, retried without end.
        const outcome = await Promise.race([
          Promise.allSettled([kv.set("a", "k", 1, limits), kv.delete("a", "j")]).then((r) => r.map((x) => (x.status === "rejected" ? String(x.reason) : "stored"))),
          Bun.sleep(3000).then(() => "still waiting after 3 s"),
        ]);
        expect(outcome).toEqual([expect.stringMatching(/locked/), expect.stringMatching(/locked/)]);
        other.exec("ROLLBACK");
        await kv.set("a", "k", 2, limits); // the lock gone, writes go on
        expect(await kv.get("a", "k")).toBe(2);
      } finally {
        other.close();
      }
    },
    { busyTimeoutMs: 200 },
  ));

test("a read waits for the agent's writes queued before it, not for later ones or other agents'", () =>
  withAgents(async (db) => {
    const kv = createSqliteKv(db.db);
    const limits = { kvValueBytes: 1000, kvTotalBytes: 100_000 };
    // Not awaited: the write is queued for the next turn's batch; the read still sees it.
    const first = kv.set("a", "k", 1, limits);
    expect(await kv.get("a", "k")).toBe(1);
    await first;
    // A steady stream of the agent's writes does not hold a read back past the ones before it.
    let stop = false;
    const writer = (async () => {
      for (let i = 2; !stop; i++) await Promise.all([kv.set("a", "k", i, limits), kv.set("a", "j", i, limits)]);
    })();
    for (let i = 0; i < 20; i++) expect(typeof (await kv.get("a", "k"))).toBe("number");
    stop = true;
    await writer;
    // Another agent's reads do not wait at all.
    const late = kv.set("a", "k", "late", limits);
    expect(await kv.get("b", "k")).toBeUndefined();
    await late;
  }));

test("prefixEnd: the least string after every string with the prefix", () => {
  expect(prefixEnd("")).toBeNull();
  expect(prefixEnd("ab")).toBe("ac");
  expect(prefixEnd("a\u{10FFFF}")).toBe("b");
  expect(prefixEnd("\u{10FFFF}")).toBeNull();
  expect(prefixEnd("a\uD7FF")).toBe("a\uE000");
  expect(prefixEnd("a\uFFFF")).toBe("a\u{10000}");
});

test("list by prefix (a key range) returns exactly the keys with the prefix, in order, with cursors", () =>
  withAgents(async (db) => {
    const kv = createSqliteKv(db.db);
    const limits = { kvValueBytes: 1000, kvTotalBytes: 100_000 };
    const keys = ["a", "ab", "ab\u{10FFFF}", "ab\u{10FFFF}z", "abc", "abd", "ac", "b", "é", "éa", "f", "\u{10FFFF}", "\u{10FFFF}x", "\u{1F600}"];
    for (const k of keys) await kv.set("a", k, 1, limits);
    const all = async (prefix: string) => {
      const out: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await kv.list("a", { prefix, limit: 2, cursor });
        out.push(...page.keys);
        if (!page.cursor) return out;
        cursor = page.cursor;
      }
    };
    const sorted = [...keys].sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y))));
    for (const p of ["", "a", "ab", "ab\u{10FFFF}", "abc", "é", "\u{10FFFF}", "\u{1F6}", "zz"])
      expect({ p, keys: await all(p) }).toEqual({ p, keys: sorted.filter((k) => k.startsWith(p)) });
  }));
