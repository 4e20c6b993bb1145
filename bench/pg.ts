/**
 * PostgreSQL figures for cluster mode, each with a same-run baseline: throwaway server
 * start (initdb + pg_ctl start + createdb; test/pg/cluster.ts), a per-test database cloned
 * from the migrated template vs created empty and migrated, a drizzle point select through
 * Bun.SQL (src/db/pg-driver.ts) vs the same select on bun:sqlite, 16-concurrent select
 * throughput, a bus message from one node's commit to another node's handler, and two nodes migrating one empty database with
 * and without the advisory lock. Medians (p95 where noted); loopback, fsync off.
 *
 *   bun bench/pg.ts [--starts 3] [--clones 8] [--selects 3000] [--notifies 200] [--races 7]
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { eq } from "drizzle-orm";
import { Database } from "bun:sqlite";
import { drizzle as sqliteDrizzle } from "drizzle-orm/bun-sqlite";
import * as lite from "../src/db/schema.sqlite";
import { migrations as sqliteMigrations } from "../src/db/migrations/embedded";
import * as pgSchema from "../src/db/schema.pg";
import { applyMigrationsUnlocked, migratePostgres, openPostgres } from "../src/db/pg-driver";
import { PgBus } from "../src/db/pg-bus";
import { startPgCluster } from "../test/pg/cluster";
import { tempDir } from "../test/harness";
import { numberOpt } from "./lib/args";

const starts = numberOpt("starts", 3);
const clones = numberOpt("clones", 8);
const selects = numberOpt("selects", 3000);
const notifies = numberOpt("notifies", 200);
const races = numberOpt("races", 7);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const us = (x: number) => `${(x * 1000).toFixed(0)} µs`;
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

console.log(`cores ${navigator.hardwareConcurrency}, load average ${load()}`);

// 1. Server start and stop.
const up: number[] = [];
const down: number[] = [];
const phases: string[] = [];
for (let i = 0; i < starts; i++) {
  const t = performance.now();
  const c = startPgCluster();
  up.push(performance.now() - t);
  phases.push(`initdb ${ms(c.timings.initdbMs)} + start ${ms(c.timings.startMs)} + createdb ${ms(c.timings.createdbMs)}`);
  const s = performance.now();
  c.stop();
  down.push(performance.now() - s);
}
console.log(`server up: median ${ms(median(up))} (runs: ${up.map(ms).join(", ")}; last: ${phases.at(-1)}); stop + remove: median ${ms(median(down))}`);

const cluster = startPgCluster();
const admin = new SQL({ url: cluster.url, max: 2 });
try {
  // 2. A migrated database per test: clone of the template vs empty + migrate (baseline).
  const created: string[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < clones; i++) {
    const t = performance.now();
    await admin.unsafe(`CREATE DATABASE fresh_${i}`);
    const pool = new SQL({ url: cluster.urlFor(`fresh_${i}`), max: 1 });
    await migratePostgres(pool);
    await pool.close();
    fresh.push(performance.now() - t);
    created.push(`fresh_${i}`);
  }
  await admin.unsafe(`ALTER DATABASE fresh_0 RENAME TO tpl`);
  created[0] = "tpl";
  const clone: Record<string, number[]> = { WAL_LOG: [], FILE_COPY: [] };
  for (let i = 0; i < clones; i++)
    for (const strategy of Object.keys(clone)) {
      const t = performance.now();
      await admin.unsafe(`CREATE DATABASE clone_${strategy}_${i} TEMPLATE tpl STRATEGY ${strategy}`);
      clone[strategy]!.push(performance.now() - t);
      created.push(`clone_${strategy}_${i}`);
    }
  const base = median(fresh);
  console.log(`per-test database: CREATE DATABASE + migrate (baseline) median ${ms(base)}; clone of the template: WAL_LOG (default, what test/pg/shared.ts does) median ${ms(median(clone.WAL_LOG!))} (×${(median(clone.WAL_LOG!) / base).toFixed(2)}), FILE_COPY median ${ms(median(clone.FILE_COPY!))} (×${(median(clone.FILE_COPY!) / base).toFixed(2)})`);
  for (const name of created.slice(1)) await admin.unsafe(`DROP DATABASE ${name}`);

  // 3. Point select latency: drizzle on Bun.SQL vs drizzle on bun:sqlite (same row, same query shape).
  const pg = openPostgres(cluster.urlFor("tpl"), { poolMax: 16 });
  await pg.db.insert(pgSchema.workspaces).values({ id: "ws_1", name: "w" });
  await pg.db.insert(pgSchema.agents).values({ id: "ag_1", workspaceId: "ws_1", slug: "s", name: "n", status: "ready", allowedHosts: ["a.example"] });
  // The baseline: the same file setup cantrip uses (WAL), the SQLite migrations, drizzle awaited the same way.
  const file = new Database(join(tempDir(), "bench.db"), { create: true, strict: true });
  file.exec("PRAGMA journal_mode = WAL");
  for (const m of sqliteMigrations) for (const stmt of m.sql.split("--> statement-breakpoint")) file.exec(stmt);
  const sqlite = sqliteDrizzle({ client: file, schema: lite });
  await sqlite.insert(lite.workspaces).values({ id: "ws_1", name: "w" });
  await sqlite.insert(lite.agents).values({ id: "ag_1", workspaceId: "ws_1", slug: "s", name: "n", status: "ready", allowedHosts: ["a.example"] });
  const liteSel: number[] = [];
  const pgSel: number[] = [];
  for (let i = 0; i < selects; i++) {
    let t = performance.now();
    await sqlite.select().from(lite.agents).where(eq(lite.agents.id, "ag_1")).limit(1);
    liteSel.push(performance.now() - t);
    t = performance.now();
    await pg.db.select().from(pgSchema.agents).where(eq(pgSchema.agents.id, "ag_1")).limit(1);
    pgSel.push(performance.now() - t);
  }
  console.log(`point select (drizzle, ${selects}×): bun:sqlite (baseline) median ${us(median(liteSel))} p95 ${us(p95(liteSel))}; Bun.SQL median ${us(median(pgSel))} p95 ${us(p95(pgSel))} (×${(median(pgSel) / median(liteSel)).toFixed(1)})`);
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < selects / 16; i++) await pg.db.select().from(pgSchema.agents).where(eq(pgSchema.agents.id, "ag_1")).limit(1);
    }),
  );
  console.log(`point select, 16 concurrent on a 16-connection pool: ${Math.round(selects / ((performance.now() - t) / 1000))} queries/s`);

  // 4. A bus message published in a committed transaction on node A → the handler on node B.
  const nodeB = openPostgres(cluster.urlFor("tpl"), { poolMax: 2 });
  const busA = new PgBus<{ ping: { i: number } }>(pg, { nodeId: "A" });
  const busB = new PgBus<{ ping: { i: number } }>(nodeB, { nodeId: "B" });
  await Promise.all([busA.start(), busB.start()]);
  const after: number[] = []; // ms from A's commit returning to B's handler, when B was later
  let before = 0; // B's handler ran before A's commit call returned
  let arrived: ((at: number) => void) | undefined;
  busB.subscribe("ping", () => arrived?.(performance.now()), () => {});
  for (let i = 0; i < notifies; i++) {
    const got = new Promise<number>((r) => (arrived = r));
    await pg.db.transaction((tx) => busA.publish(tx, "ping", { i }));
    const committed = performance.now();
    const at = await got;
    if (at <= committed) before++;
    else after.push(at - committed);
  }
  await Promise.all([busA.stop(), busB.stop()]);
  await nodeB.close();
  console.log(
    `bus message, commit on node A → handler on node B (${notifies}×): before A's commit call returned in ${before}; after it in ${after.length}` +
      (after.length ? ` (median ${us(median(after))}, p95 ${us(p95(after))}, max ${us(Math.max(...after))} later)` : ""),
  );
  await pg.close();
  file.close();

  // 5. Two nodes start on one empty database at once: drizzle's migrator alone vs under the lock.
  for (const [name, migrate] of [["drizzle migrator without a lock (baseline)", applyMigrationsUnlocked], ["migratePostgres (pg_advisory_lock)", migratePostgres]] as const) {
    let failed = 0;
    for (let i = 0; i < races; i++) {
      const db = `race_${migrate.name.toLowerCase()}_${i}`;
      await admin.unsafe(`CREATE DATABASE ${db}`);
      const nodes = [0, 1].map(() => new SQL({ url: cluster.urlFor(db), max: 2 }));
      const results = await Promise.allSettled(nodes.map((n) => migrate(n)));
      if (results.some((r) => r.status === "rejected")) failed++;
      await Promise.all(nodes.map((n) => n.close()));
    }
    console.log(`two nodes migrating one empty database, ${name}: a node failed in ${failed} of ${races} runs`);
  }
} finally {
  await admin.close();
  cluster.stop();
}
console.log(`load average at the end ${load()}`);
