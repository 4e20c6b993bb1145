/**
 * Nothing outside src/db talks to the database synchronously or touches the driver (issue
 * 17): every read is an awaited query builder (`await db.select()…`), every write runs in
 * `db.tx(async (t) => …)` through the write gate, and raw SQL goes through src/db/raw.ts.
 * The scan reads every application source file under src/ except src/db/ (and the *.test.ts
 * files beside the code, which may prepare fixtures on the file directly) and fails on:
 *
 * 1. `$client` — the driver's connection behind a drizzle handle;
 * 2. `.transaction(` — drizzle's bun-sqlite transaction, which commits when its callback
 *    returns a promise (the trap test/db/write-gate.test.ts reproduces);
 * 3. an import of `bun:sqlite` or `drizzle-orm/bun-sqlite` (the driver itself);
 * 4. `.get()`, `.all()`, `.run()` or `.values()` with empty parentheses ending a statement
 *    that builds a query (`.select(`, `.insert(`, `.update(`, `.delete(`, `.from(`,
 *    `.returning(`, `.prepare(`, `.query(`): drizzle's synchronous terminal calls. A
 *    `Map`'s or `Headers`' `.values()`/`.get(x)` builds no query and is not flagged;
 * 5. drizzle's raw synchronous calls, `.all(sql…)`, `.get(sql…)`, `.run(sql…)`, `.values(sql…)`;
 * 6. `.run(`/`.all(`/`.get(`/`.values(`/`.execute(` on a statement kept from `.prepare()`
 *    outside src/db (a prepared statement belongs to one connection).
 *
 * Strings and comments are blanked before the scan, so prose about `.get()` is not code.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

/** Blanks string literals (keeping template `${…}` code) and comments, preserving offsets. */
function codeOnly(text: string): string {
  let out = "";
  let i = 0;
  const depth: number[] = []; // brace depth at each open `${` in a template
  let braces = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  while (i < text.length) {
    const c = text[i]!;
    const n = text[i + 1];
    if (c === "/" && n === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === "/" && n === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      out += c + blank(text.slice(i + 1, j)) + (text[j] ?? "");
      i = j + 1;
    } else if (c === "`" || (c === "}" && depth.length && depth[depth.length - 1] === braces)) {
      // a template literal's text, up to its end or the next `${`
      if (c === "}") depth.pop(); // the `}` closing a `${`: the template's text goes on
      let j = i + 1;
      while (j < text.length && text[j] !== "`" && !(text[j] === "$" && text[j + 1] === "{")) j += text[j] === "\\" ? 2 : 1;
      out += c + blank(text.slice(i + 1, j));
      if (text[j] === "$") {
        out += "${";
        depth.push(braces);
        i = j + 2;
      } else {
        out += text[j] ?? "";
        i = j + 1;
      }
    } else {
      if (c === "{") braces++;
      else if (c === "}") braces--;
      out += c;
      i++;
    }
  }
  return out;
}

const BUILDS_QUERY = /\.(select|selectDistinct|insert|update|delete|from|returning|prepare|query)\s*\(/;

/** Synchronous driver use in `source`, as "line: what" (empty when the file is clean). */
export function syncCalls(source: string): string[] {
  const code = codeOnly(source);
  const found: string[] = [];
  const lineOf = (i: number) => code.slice(0, i).split("\n").length;
  for (const m of code.matchAll(/\$client\b/g)) found.push(`${lineOf(m.index!)}: $client`);
  for (const m of code.matchAll(/\.transaction\s*\(/g)) found.push(`${lineOf(m.index!)}: .transaction(`);
  for (const m of source.matchAll(/(?:from\s+|import\s*\(\s*)["'](bun:sqlite|drizzle-orm\/bun-sqlite)["']/g)) found.push(`${lineOf(m.index!)}: imports ${m[1]}`);
  for (const m of code.matchAll(/\.(get|all|run|values)\s*\(\s*\)/g)) {
    // The statement this call ends: back to the previous `;`, or a `{`/`}` at line start.
    const before = code.slice(0, m.index!);
    let block = -1;
    for (const b of before.matchAll(/[{}][ \t]*\n/g)) block = b.index!;
    const start = Math.max(before.lastIndexOf(";"), block);
    if (BUILDS_QUERY.test(before.slice(start + 1))) found.push(`${lineOf(m.index!)}: .${m[1]}()`);
  }
  for (const m of code.matchAll(/\.(get|all|run|values)\s*(?:<[^>()]*>)?\s*\(\s*sql\b/g)) found.push(`${lineOf(m.index!)}: .${m[1]}(sql…)`);
  for (const p of code.matchAll(/\b(?:const|let)\s+(\w+)\s*=[^;]*?\.prepare\s*\(\s*\)/g)) {
    for (const m of code.matchAll(new RegExp(`\\b${p[1]}\\.(run|all|get|values|execute)\\s*\\(`, "g"))) found.push(`${lineOf(m.index!)}: prepared ${p[1]}.${m[1]}(`);
  }
  return found;
}

test("the scan recognises the synchronous shapes the code had before the async layer", () => {
  // Verbatim (or nearly) from before: jobs/store.ts, auth/agent-keys.ts, kv-sqlite.ts, retention, invocation-log.ts.
  expect(syncCalls(`return this.db.select().from(jobs).where(eq(jobs.id, id)).get();`)).toEqual(["1: .get()"]);
  expect(syncCalls(`const rows = this.db\n  .select()\n  .from(jobs)\n  .where(filter)\n  .orderBy(desc(jobs.id))\n  .all();`)).toEqual(["6: .all()"]);
  expect(syncCalls(`tx.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id)).run();`)).toEqual(["1: .run()"]);
  expect(syncCalls(`const row = db.insert(agents).values({ id }).returning().get();`)).toEqual(["1: .get()"]);
  expect(syncCalls(`const out = this.db.transaction((tx) => fn(tx), { behavior: "immediate" });`)).toEqual(["1: .transaction("]);
  expect(syncCalls(`const sql = db.$client;\nconst getQ = sql.query("SELECT value FROM kv WHERE agent_id = ?");`)).toEqual(["1: $client"]);
  expect(syncCalls(`import type { Database } from "bun:sqlite";`)).toEqual(["1: imports bun:sqlite"]);
  expect(syncCalls(`const n = db.all(sql\`SELECT 1\`);\nconst m = db.get<{ n: number }>(sql\`SELECT 2\`);`)).toEqual(["1: .all(sql…)", "2: .get(sql…)"]);
  expect(syncCalls(`const statement = db.insert(invocations).values({ agentId: p("a") }).prepare();\nstatement.run({ agentId: "x" });`)).toEqual(["2: prepared statement.run("]);
  expect(syncCalls(`const v = this.sqlite.query("PRAGMA auto_vacuum").values();`)).toEqual(["1: .values()"]);
});

test("what is not a synchronous database call is not flagged", () => {
  expect(syncCalls(`for (const r of runs.values()) n++;\nconst all = [...kinds.values()].map((k) => k.kind);`)).toEqual([]);
  expect(syncCalls(`const v = headers.get("x");\nconst w = cache.get(key);\nconst s = new Set(list.values());`)).toEqual([]);
  expect(syncCalls(`const rows = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);\nawait db.tx((t) => t.update(jobs).set({ x: 1 }));`)).toEqual([]);
  expect(syncCalls(`// the old code called .get() here and db.transaction(...)\nconst s = "SELECT x FROM y; .all() $client";`)).toEqual([]);
  expect(syncCalls("const msg = `${a.b.get()} and .run() in text`;")).toEqual([]);
});

test("no application file outside src/db calls the driver synchronously or touches it", () => {
  const found: Record<string, string[]> = {};
  let scanned = 0;
  for (const file of new Bun.Glob("src/**/*.{ts,tsx}").scanSync({ cwd: ROOT })) {
    if (file.startsWith("src/db/") || file.endsWith(".test.ts")) continue;
    scanned++;
    const hits = syncCalls(readFileSync(join(ROOT, file), "utf8"));
    if (hits.length) found[file] = hits;
  }
  expect(scanned).toBeGreaterThan(150);
  expect(found).toEqual({});
});
