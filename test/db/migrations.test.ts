import { expect, test } from "bun:test";
import { join } from "node:path";
import { isMigrated, openDatabase } from "../../src/db";
import { migrations } from "../../src/db/migrations/embedded";
import { readFileSync } from "node:fs";
import { tempDir } from "../harness";

test("fresh file gets every table; reopening an already-migrated file is a no-op", async () => {
  const file = join(tempDir(), "c.db");
  const a = openDatabase(file);
  expect(await isMigrated(a.db)).toBe(true);
  const tables = (a.sqlite.query("select name from sqlite_master where type='table'").all() as { name: string }[]).map((r) => r.name);
  for (const t of ["workspaces", "platform_tokens", "agents", "versions", "deployments", "jobs", "api_keys", "kv", "invocations"])
    expect(tables).toContain(t);
  a.sqlite.query("insert into workspaces (id, name) values ('ws_1', 'x')").run();
  a.close();
  const b = openDatabase(file);
  const n = b.sqlite.query("select count(*) as n from __drizzle_migrations").get() as { n: number };
  expect(n.n).toBe(migrations.length);
  expect(b.sqlite.query("select name from workspaces").get()).toEqual({ name: "x" });
  expect((b.sqlite.query("pragma journal_mode").get() as any).journal_mode).toBe("wal");
  expect((b.sqlite.query("pragma foreign_keys").get() as any).foreign_keys).toBe(1);
  b.close();
});

test("embedded migrations match drizzle-kit's output folder", () => {
  for (const m of migrations) {
    const onDisk = readFileSync(join(import.meta.dir, "../../src/db/migrations", `${m.tag}.sql`), "utf8");
    expect(m.sql).toBe(onDisk);
  }
});
