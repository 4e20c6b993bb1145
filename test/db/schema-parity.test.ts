/**
 * The PostgreSQL schema stays the twin of the SQLite one (see test/db/schema-parity.ts):
 * the compile-time check below fails `tsc` (CI's first step) when a row type differs, the
 * runtime checks fail when names, nullability, defaults, keys or indexes drift; the negative
 * controls prove both checks can fail.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { is, Table } from "drizzle-orm";
import { bigint, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { PgTable } from "drizzle-orm/pg-core";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as lite from "../../src/db/schema.sqlite";
import * as pg from "../../src/db/schema.pg";
import { tableDifferences, type Parity, type ParityCheck } from "./schema-parity";

// Compile time: every SQLite table has a twin with mutually assignable select/insert types.
// A mismatch reads e.g. `Type 'true' is not assignable to type '"select type of kv differs"'`.
const parity: ParityCheck<typeof lite, typeof pg> = true;
// ...and the only tables without a SQLite twin are the cluster's own (schema.pg.ts, last section).
const CLUSTER_ONLY = ["clusterMeta", "clusterSingletons", "kvUsage"] as const;
type PgOnly = Exclude<keyof Parity<typeof pg, typeof lite>, keyof Parity<typeof lite, typeof pg>>;
type Unlisted = Exclude<PgOnly, (typeof CLUSTER_ONLY)[number]>;
const pgOnly: [Unlisted] extends [never] ? true : `${Unlisted & string} exists only in schema.pg.ts` = true;

const tables = (schema: object) =>
  Object.fromEntries(Object.entries(schema).filter(([, v]) => is(v, Table))) as Record<string, Table>;

test("both schemas declare the same tables under the same export names", () => {
  expect(parity).toBe(true);
  expect(pgOnly).toBe(true);
  expect(Object.keys(tables(pg)).sort()).toEqual([...Object.keys(tables(lite)), ...CLUSTER_ONLY].sort());
});

test("every table matches its twin: columns, SQL names, types, nullability, defaults, keys, indexes, foreign keys", () => {
  const l = tables(lite);
  const p = tables(pg);
  const differences = Object.keys(l).flatMap((k) => tableDifferences(l[k] as SQLiteTable, p[k] as PgTable));
  expect(differences).toEqual([]);
  // The comparison saw every column (a sanity check that it is not vacuous).
  expect(Object.values(l).reduce((n, t) => n + Object.keys(t).length, 0)).toBeGreaterThan(150);
});

test("negative control: a drifted twin is reported column by column", () => {
  const drifted = pgTable(
    "kv",
    {
      agentId: text("agent_id").notNull(), // the foreign key is missing
      key: text("key"), // nullable
      value: text("value").notNull(),
      size: bigint("size", { mode: "number" }).notNull(), // wrong type
      updatedAt: integer("updated_at").notNull().default(0), // epoch ms in an int4, other default
    },
    (t) => [primaryKey({ columns: [t.agentId, t.key] }), index("kv_extra").on(t.value)],
  );
  const found = tableDifferences(lite.kv, drifted).join("\n");
  expect(found).toContain("key: not null true vs false");
  expect(found).toContain("size: SQLiteInteger maps to PgInteger, got PgBigInt53");
  expect(found).toContain("updatedAt: SQLiteInteger maps to PgBigInt53, got PgInteger");
  expect(found).toContain("updatedAt: default now vs 0");
  expect(found).toContain("indexes  vs kv_extra(value)");
  expect(found).toContain("foreign keys (agent_id) → agents(id) on delete cascade");
});

test("negative control: the compile-time check rejects a twin whose row type differs", () => {
  // A scratch module beside this one (module resolution as in the project), type-checked alone.
  const dir = mkdtempSync(join(import.meta.dir, ".parity-"));
  try {
    writeFileSync(
      join(dir, "drift.ts"),
      `import { pgTable, text, integer } from "drizzle-orm/pg-core";
import { sqliteTable, text as t, integer as i } from "drizzle-orm/sqlite-core";
import type { ParityCheck } from "../schema-parity";
const liteSchema = { kv: sqliteTable("kv", { key: t("key").notNull(), size: i("size").notNull() }) };
const pgSchema = { kv: pgTable("kv", { key: text("key").notNull(), size: integer("size") }) };
export const p: ParityCheck<typeof liteSchema, typeof pgSchema> = true;
`,
    );
    const r = Bun.spawnSync({
      cmd: [process.execPath, "x", "tsc", "--ignoreConfig", "--noEmit", "--strict", "--skipLibCheck", "--target", "esnext", "--module", "esnext", "--moduleResolution", "bundler", "--types", "bun", join(dir, "drift.ts")],
      cwd: join(import.meta.dir, "../.."),
    });
    const out = r.stdout.toString() + r.stderr.toString();
    expect(r.exitCode).not.toBe(0);
    expect(out).toContain("select type of kv differs");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("schema.ts binds every SQLite table by its export name, and useDialect rebinds each to its PostgreSQL twin", async () => {
  const bound = await import("../../src/db/schema");
  const names = Object.keys(tables(lite)).sort();
  expect(Object.keys(tables(bound)).sort()).toEqual(names);
  const before = bound.dialect();
  try {
    bound.useDialect("postgres");
    for (const n of names) expect([n, (bound as Record<string, unknown>)[n] === (pg as Record<string, unknown>)[n]]).toEqual([n, true]);
    bound.useDialect("sqlite");
    for (const n of names) expect([n, (bound as Record<string, unknown>)[n] === (lite as Record<string, unknown>)[n]]).toEqual([n, true]);
  } finally {
    bound.useDialect(before);
  }
});
