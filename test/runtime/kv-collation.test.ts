/**
 * `ctx.kv.list` on a PostgreSQL database whose collation is not "C" (issue 18). kv-sqlite.ts
 * answers a prefix with the key range [prefix, prefixEnd(prefix)), which holds in code point
 * order (SQLite's BINARY order, and PostgreSQL's "C"). A database created with a linguistic
 * collation (`initdb` takes the machine's locale, e.g. en_US.UTF-8; here ICU en-US) orders
 * digits after punctuation and "a" before "Z": the range for prefix "a9" ends at "a:", which
 * sorts before "a9", so `list({ prefix: "a9" })` answered [] although "a9x" was stored, and
 * keys came back in another order than on SQLite. Migration 0003 gives `kv.key` the "C"
 * collation. The test runs a real server on such a database.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, TEST_SECRET_KEY, type TestServer } from "../harness";
import { deploy, invoke, type Target } from "../reliability/host-helpers";
import { describePg, pgServer } from "../pg/shared";
import { migratePostgres } from "../../src/db/pg-driver";
import { SQL } from "bun";

const backend = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": async (input, ctx) => {
  for (const k of input.keys) await ctx.kv.set(k, 1);
  const out = {};
  for (const p of input.prefixes) out[p] = (await ctx.kv.list({ prefix: p })).keys;
  return out;
} } });`;

describePg("kv on a PostgreSQL database with a linguistic collation (ICU en-US)", () => {
  const name = `kv_icu_${process.pid}`;
  let s: TestServer;
  let t: Target;
  beforeAll(async () => {
    const { admin, urlFor } = await pgServer();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`);
    const pool = new SQL({ url: urlFor(name), max: 1 });
    try {
      // The database really orders text linguistically (the negative control for the test).
      expect((await pool`select 'a:' < 'a9' as before`)[0].before).toBe(true);
      await migratePostgres(pool);
    } finally {
      await pool.close();
    }
    s = await startServer({ CANTRIP_DATABASE_URL: urlFor(name), CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DB_POOL_MAX: "4" });
    t = { url: s.url, token: s.token };
  });
  afterAll(async () => {
    await s?.stop();
    const { admin } = await pgServer();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  test("a prefix's keys are listed, in code point order, as on SQLite", async () => {
    const a = await deploy(t, "kv collation", backend);
    const keys = ["a9x", "a9", "aZ", "a:b", "Zed", "a-1", "a.1", "b"];
    const r = await invoke(t, a.slug, a.key, { keys, prefixes: ["a9", "Z", "a", "a-", ""] });
    expect(r.status).toBe(200);
    expect(r.body.data.response).toEqual({
      a9: ["a9", "a9x"],
      Z: ["Zed"],
      a: ["a-1", "a.1", "a9", "a9x", "a:b", "aZ"],
      "a-": ["a-1"],
      "": ["Zed", "a-1", "a.1", "a9", "a9x", "a:b", "aZ", "b"],
    });
  });
});
