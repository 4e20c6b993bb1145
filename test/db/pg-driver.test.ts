/**
 * Driver conformance for src/db/pg-driver.ts against a real throwaway PostgreSQL: what
 * cluster mode relies on from Bun.SQL + drizzle-orm/bun-sql, checked on every Bun bump.
 * CRUD through drizzle with the twin schema (JSON in text, booleans, bigint epoch ms,
 * bigserial ids), transactions, `FOR UPDATE SKIP LOCKED` claims from two pools, LISTEN/NOTIFY
 * (after commit only; re-subscribe after the connection is killed), session advisory locks,
 * and the two upstream Bun.SQL wrong-row reproductions (oven-sh/bun#32772; keeper.sh#584 =
 * oven-sh/bun#33665, fixed by #33627), which return another query's rows on Bun ≤ 1.4.0.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { and, count, eq, sql } from "drizzle-orm";
import { ConfigError } from "../../src/config/load";
import { listen, notify, openPostgres, parseDatabaseUrl, withSessionLock, type PgConnection } from "../../src/db/pg-driver";
import { agents, jobEvents, jobs, workspaces } from "../../src/db/schema.pg";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";

test("parseDatabaseUrl accepts postgres:// and postgresql:// URLs and names the setting otherwise, without echoing the URL", () => {
  expect(parseDatabaseUrl(" postgres://u:p@db.internal:5432/cantrip ")).toBe("postgres://u:p@db.internal:5432/cantrip");
  expect(parseDatabaseUrl("postgresql://db/cantrip")).toBe("postgresql://db/cantrip");
  expect(parseDatabaseUrl("postgres:///cantrip?host=/var/run/postgresql")).toBe("postgres:///cantrip?host=/var/run/postgresql");
  expect(parseDatabaseUrl("postgres://u@/cantrip?host=/var/run/postgresql")).toBe("postgres://u@/cantrip?host=/var/run/postgresql");
  const expected = "expected postgres://user:password@host:5432/database, or ?host=/socket/dir for a Unix socket";
  for (const [raw, message] of [
    ["mysql://u:s3cret@db/x", "CANTRIP_DATABASE_URL: expected a postgres:// or postgresql:// URL, got a mysql:// URL"],
    ["db.internal:5432", `CANTRIP_DATABASE_URL: not a URL (${expected})`],
    ["not a url s3cret", `CANTRIP_DATABASE_URL: not a URL (${expected})`],
    ["postgres://u:s3cret@[::1/db", `CANTRIP_DATABASE_URL: not a URL (${expected})`],
    ["postgres:///cantrip", `CANTRIP_DATABASE_URL: the URL has no host (${expected})`],
  ] as const) {
    let err: unknown;
    try {
      parseDatabaseUrl(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(message);
    expect((err as Error).message).not.toContain("s3cret");
  }
});

describePg("Bun.SQL + drizzle-orm/bun-sql on PostgreSQL", () => {
  let d: TestDatabase;
  let pg: PgConnection;
  beforeAll(async () => {
    d = await freshDatabase();
    pg = openPostgres(d.url, { poolMax: 8 });
    await pg.db.insert(workspaces).values({ id: "ws_1", name: "one" });
  });
  afterAll(async () => {
    await pg?.close();
    await d?.drop();
  });

  test("CRUD with the twin schema: JSON stays JSON text, booleans, epoch-ms defaults, bigserial ids, count() is a number", async () => {
    const { db, client } = pg;
    const before = Date.now();
    const [a] = await db
      .insert(agents)
      .values({ id: "ag_1", workspaceId: "ws_1", slug: "one", name: "One", status: "ready", public: true, limits: { cpuMs: 32 }, env: { A: "1" } })
      .returning();
    expect(a!.public).toBe(true);
    expect(a!.limits).toEqual({ cpuMs: 32 });
    expect(a!.allowedHosts).toEqual([]);
    expect(typeof a!.createdAt).toBe("number");
    expect(a!.createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(a!.createdAt).toBeLessThanOrEqual(Date.now() + 1000);
    // Stored as JSON text, not double-encoded: the database itself parses it as an object.
    const [raw] = await client`select limits, json_typeof(limits::json) as kind, json_typeof(allowed_hosts::json) as hosts from agents where id = 'ag_1'`;
    expect(raw).toEqual({ limits: '{"cpuMs":32}', kind: "object", hosts: "array" });

    const [u] = await db.update(agents).set({ allowedHosts: ["api.example.com"], public: false, failure: null }).where(eq(agents.id, "ag_1")).returning();
    expect(u!.allowedHosts).toEqual(["api.example.com"]);
    expect(u!.public).toBe(false);
    expect(await db.insert(agents).values({ id: "ag_1", workspaceId: "ws_1", slug: "x", name: "x", status: "ready" }).onConflictDoNothing().returning()).toEqual([]);

    await db.insert(jobs).values({ id: "job_crud", workspaceId: "ws_1", kind: "k", payload: { n: 1 }, status: "queued" });
    const ids = (await db.insert(jobEvents).values([1, 2, 3].map((n) => ({ jobId: "job_crud", type: "log", data: { n } }))).returning({ id: jobEvents.id })).map((r) => r.id);
    expect(ids.every((id) => typeof id === "number")).toBe(true);
    expect(ids[2]! - ids[0]!).toBe(2);
    const [{ n }] = (await db.select({ n: count() }).from(jobEvents).where(eq(jobEvents.jobId, "job_crud"))) as [{ n: number }];
    expect(n).toBe(3);

    // Foreign keys cascade as on SQLite.
    await db.delete(jobs).where(eq(jobs.id, "job_crud"));
    expect(await db.select().from(jobEvents).where(eq(jobEvents.jobId, "job_crud"))).toEqual([]);
  });

  test("transactions commit, roll back on throw (nested savepoints too), and a failed statement does not poison the pool", async () => {
    const { db } = pg;
    const ev = (id: string) => db.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, id));
    await db.transaction(async (tx) => {
      await tx.insert(jobs).values({ id: "job_tx_ok", kind: "k", payload: {}, status: "queued" });
    });
    expect(await ev("job_tx_ok")).toHaveLength(1);

    await expect(
      db.transaction(async (tx) => {
        await tx.insert(jobs).values({ id: "job_tx_undo", kind: "k", payload: {}, status: "queued" });
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    expect(await ev("job_tx_undo")).toHaveLength(0);

    await db.transaction(async (tx) => {
      await tx.insert(jobs).values({ id: "job_outer", kind: "k", payload: {}, status: "queued" });
      await expect(
        tx.transaction(async (inner) => {
          await inner.insert(jobs).values({ id: "job_inner", kind: "k", payload: {}, status: "queued" });
          throw new Error("inner");
        }),
      ).rejects.toThrow("inner");
    });
    expect(await ev("job_outer")).toHaveLength(1);
    expect(await ev("job_inner")).toHaveLength(0);

    // 20 concurrent transactions, every other one failing on a duplicate key after a write.
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.insert(jobs).values({ id: `job_c${i}`, kind: "k", payload: {}, status: "queued" });
          if (i % 2) await tx.insert(jobs).values({ id: "job_tx_ok", kind: "k", payload: {}, status: "queued" });
        }),
      ),
    );
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(10);
    const kept = await db.select({ id: jobs.id }).from(jobs).where(sql`${jobs.id} like 'job_c%'`);
    expect(kept.map((r) => r.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job_c${i * 2}`).sort());
    // Every pooled connection still answers (no "current transaction is aborted", 25P02).
    const probes = await Promise.all(Array.from({ length: 24 }, () => db.select({ n: count() }).from(jobs)));
    expect(probes.every(([r]) => r!.n === 12)).toBe(true); // job_tx_ok, job_outer, 10 × job_c
  });

  test("FOR UPDATE SKIP LOCKED: a claim skips a row another node holds; two pools (two nodes) × 4 workers claim 200 jobs, each exactly once", async () => {
    await pg.db.insert(jobs).values(Array.from({ length: 200 }, (_, i) => ({ id: `job_q${String(i).padStart(3, "0")}`, kind: "claim", payload: { i }, status: "queued", runAt: i })));
    const nodes = [pg, openPostgres(d.url, { poolMax: 4 })];
    await nodes[1]!.client`select 1`; // connected before the race starts
    /** cantrip's claim shape: the oldest queued job, locked, skipped when another claim holds it; `hold` runs before commit. */
    const claim = (node: number, hold: () => Promise<void>) =>
      nodes[node]!.db.transaction(async (tx) => {
        const next = tx
          .select({ id: jobs.id })
          .from(jobs)
          .where(and(eq(jobs.kind, "claim"), eq(jobs.status, "queued")))
          .orderBy(jobs.runAt, jobs.id)
          .limit(1)
          .for("update", { skipLocked: true });
        const [job] = await tx
          .update(jobs)
          .set({ status: "running", attempts: sql`${jobs.attempts} + 1`, leaseOwner: `node${node}` })
          .where(sql`${jobs.id} = (${next})`)
          .returning({ id: jobs.id, attempts: jobs.attempts });
        if (job) {
          await tx.insert(jobEvents).values({ jobId: job.id, type: "status", message: `claimed by node${node}` });
          await hold();
        }
        return job;
      });
    const claimed: { id: string; node: number; attempts: number }[] = [];
    try {
      // Node 0 claims the oldest job and keeps its transaction open: node 1 gets the next one
      // at once (plain FOR UPDATE would wait for node 0's commit).
      let commit!: () => void;
      const open = new Promise<void>((r) => (commit = r));
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      const first = claim(0, () => (holding(), open));
      await held;
      const second = await Promise.race([claim(1, async () => {}), Bun.sleep(3000).then(() => "blocked" as const)]);
      expect(second).toEqual({ id: "job_q001", attempts: 1 });
      commit();
      expect(await first).toEqual({ id: "job_q000", attempts: 1 });
      claimed.push({ ...(await first)!, node: 0 }, { ...(second as { id: string; attempts: number }), node: 1 });

      const worker = async (node: number) => {
        for (;;) {
          const row = await claim(node, () => Bun.sleep(1)); // hold the row lock a moment
          if (!row) return;
          claimed.push({ ...row, node });
        }
      };
      await Promise.all([0, 0, 0, 0, 1, 1, 1, 1].map(worker));
    } finally {
      await nodes[1]!.close();
    }
    expect(claimed).toHaveLength(200);
    expect(new Set(claimed.map((c) => c.id)).size).toBe(200);
    expect(claimed.every((c) => c.attempts === 1)).toBe(true);
    const perNode = [0, 1].map((n) => claimed.filter((c) => c.node === n).length);
    expect(Math.min(...perNode)).toBeGreaterThan(10);
    const [{ n }] = (await pg.db.select({ n: count() }).from(jobs).where(and(eq(jobs.kind, "claim"), eq(jobs.status, "queued")))) as [{ n: number }];
    expect(n).toBe(0);
  });

  test("LISTEN/NOTIFY: a notify in a transaction arrives after commit, never on rollback; onListen runs again after the connection is killed", async () => {
    const listener = new SQL({ url: d.url, max: 1 });
    const got: string[] = [];
    let listens = 0;
    const waitFor = async (cond: () => boolean, ms = 5000) => {
      for (const end = Date.now() + ms; !cond(); ) {
        if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(got)}`);
        await Bun.sleep(5);
      }
    };
    const sub = await listen(listener, "cantrip_events", (p) => got.push(p), () => listens++);
    try {
      expect(listens).toBe(1);
      const { db } = pg;
      let inTx!: () => void;
      const committed = db.transaction(async (tx) => {
        await notify(tx, "cantrip_events", "committed");
        await new Promise<void>((r) => (inTx = r));
      });
      await Bun.sleep(150);
      expect(got).toEqual([]); // queued in the open transaction, not delivered yet
      inTx();
      await committed;
      await waitFor(() => got.length === 1);

      await expect(
        db.transaction(async (tx) => {
          await notify(tx, "cantrip_events", "rolled-back");
          throw new Error("rollback");
        }),
      ).rejects.toThrow("rollback");
      await db.transaction((tx) => notify(tx, "cantrip_events", "marker"));
      await waitFor(() => got.includes("marker"));
      expect(got).toEqual(["committed", "marker"]); // notifications arrive in commit order

      // Kill the LISTEN connection: Bun.SQL reconnects, re-subscribes and calls onListen again.
      const killed = await pg.client`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
      expect(killed.length).toBe(1);
      await waitFor(() => listens === 2, 10_000);
      await db.transaction((tx) => notify(tx, "cantrip_events", "after-reconnect"));
      await waitFor(() => got.includes("after-reconnect"));
    } finally {
      await sub.unlisten();
      await listener.close();
    }
  });

  test("withSessionLock: holders of one advisory lock never overlap, across pools", async () => {
    const other = new SQL({ url: d.url, max: 2 });
    const log: string[] = [];
    try {
      await Promise.all(
        [pg.client, other, pg.client, other].map((client, i) =>
          withSessionLock(client, "cantrip.test-lock", async () => {
            log.push(`in${i}`);
            await Bun.sleep(30);
            log.push(`out${i}`);
          }),
        ),
      );
    } finally {
      await other.close();
    }
    expect(log).toHaveLength(8);
    for (let k = 0; k < 8; k += 2) expect(log[k + 1]).toBe(log[k]!.replace("in", "out"));
  });

  test("openPostgres({ prepare }) decides whether Bun.SQL keeps named prepared statements on the connection", async () => {
    const named = async (prepare: boolean) => {
      const one = openPostgres(d.url, { poolMax: 1, prepare });
      try {
        for (let i = 0; i < 2; i++) await one.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, `ws_${i}`));
        const [{ n }] = await one.client`select count(*)::int as n from pg_prepared_statements`;
        return n as number;
      } finally {
        await one.close();
      }
    };
    expect(await named(true)).toBeGreaterThan(0);
    expect(await named(false)).toBe(0);
  });

  /** `p`, or a rejection naming `what` when it has not settled within `ms` (the hang variants). */
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no reply within ${ms} ms (hung)`)), ms)));
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  };

  test("upstream oven-sh/bun#32772: a simple-protocol query next to a not-yet-prepared one keeps its own rows (200 rounds, one connection)", async () => {
    const one = new SQL({ url: d.url, max: 1 });
    try {
      for (let i = 0; i < 200; i++) {
        const [a, b, c] = await within(
          Promise.all([
            one.unsafe(`SELECT 'A${i}'::text AS v`),
            one.unsafe(`SELECT $1::text AS v /* ${i} */`, [`B${i}`]),
            one.unsafe(`SELECT 'C${i}'::text AS v`),
          ]),
          5000,
          `round ${i}`,
        );
        expect([a[0]?.v, b[0]?.v, c[0]?.v]).toEqual([`A${i}`, `B${i}`, `C${i}`]);
        // The variant that hung: the third query parameterized too.
        const [x, y] = await within(
          Promise.all([one.unsafe(`SELECT 'X${i}'::text AS v`), one.unsafe(`SELECT $1::text AS v /* y${i} */`, [`Y${i}`]), one.unsafe(`SELECT $1::text AS v /* z${i} */`, [`Z${i}`])]),
          5000,
          `hang variant, round ${i}`,
        );
        expect([x[0]?.v, y[0]?.v]).toEqual([`X${i}`, `Y${i}`]);
      }
    } finally {
      await one.close();
    }
  });

  test("upstream keeper.sh#584 / oven-sh/bun#33665: a prepared query next to novel and simple ones keeps its own rows and never hangs (3 shapes × 200 rounds, one connection)", async () => {
    const prepared = `SELECT $1::int AS p, 'prepared'::text AS kind`;
    const novel = (tag: string) => [`SELECT $1::text AS v /* ${tag} */`, [tag]] as const;
    // Each shape returns [what each query returned, what it should have]. On Bun 1.3.14 the
    // second shape hangs and the third hands the novel query the prepared one's row.
    const shapes: Record<string, (one: SQL, i: number) => Promise<[unknown[], unknown[]]>> = {
      "novel, prepared, novel, prepared": async (one, i) => {
        const r = await Promise.all([one.unsafe(...novel(`a${i}`)), one.unsafe(prepared, [i]), one.unsafe(...novel(`b${i}`)), one.unsafe(prepared, [i + 1])]);
        return [[r[0][0]?.v, r[1][0]?.p, r[2][0]?.v, r[3][0]?.p], [`a${i}`, i, `b${i}`, i + 1]];
      },
      "prepared, novel, prepared": async (one, i) => {
        const r = await Promise.all([one.unsafe(prepared, [i]), one.unsafe(...novel(`a${i}`)), one.unsafe(prepared, [i + 1])]);
        return [[r[0][0]?.p, r[1][0]?.v, r[2][0]?.p], [i, `a${i}`, i + 1]];
      },
      "simple, novel, prepared": async (one, i) => {
        const r = await Promise.all([one.unsafe(`SELECT 'S${i}'::text AS v`), one.unsafe(...novel(`a${i}`)), one.unsafe(prepared, [i])]);
        return [[r[0][0]?.v, r[1][0]?.v, r[2][0]?.p], [`S${i}`, `a${i}`, i]];
      },
    };
    for (const [shape, run] of Object.entries(shapes)) {
      const one = new SQL({ url: d.url, max: 1 });
      try {
        await one.unsafe(prepared, [0]); // now a named prepared statement on this connection
        for (let i = 0; i < 200; i++) {
          const [got, want] = await within(run(one, i), 5000, `${shape}, round ${i}`);
          expect({ shape, i, got }).toEqual({ shape, i, got: want });
        }
      } finally {
        one.close().catch(() => {}); // a hung connection must not hang the test too
      }
    }
  });
});
