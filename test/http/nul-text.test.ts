/**
 * U+0000 from a guest, on either database (issue 18). SQLite text holds a NUL; PostgreSQL
 * text cannot (SQLSTATE 22021), so there a console line with a NUL used to fail its insert
 * and be dropped with its whole row-by-row batch entry, and `ctx.kv.set` with a NUL in the
 * key surfaced the driver's error. Now a logged NUL is stored as U+FFFD on PostgreSQL, and a
 * kv key with a NUL is refused with a clear message there (get: undefined, delete: false).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, testDialect, type TestServer } from "../harness";
import { call, deploy, invoke, type Target } from "../reliability/host-helpers";

let s: TestServer;
let t: Target;
beforeAll(async () => {
  s = await startServer();
  t = { url: s.url, token: s.token };
});
afterAll(() => s.stop());

const backend = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async (input, ctx) => {
  console.log("before\\u0000after");
  const key = "nul\\u0000key";
  let set = "stored";
  try { await ctx.kv.set(key, 1); } catch (e) { set = String(e.message ?? e); }
  await ctx.kv.set("plain", "x\\u0000y");
  return { set, get: (await ctx.kv.get(key)) ?? null, plain: await ctx.kv.get("plain"), del: await ctx.kv.delete(key) };
} } } });`;

test("a NUL in a console line and in a kv key or value: stored, or refused with a clear message", async () => {
  const a = await deploy(t, "nul text", backend);
  const r = await invoke(t, a.slug, a.key, {});
  expect(r.status).toBe(200);
  const out = r.body.data.response;
  expect(out.plain).toBe("x\u0000y"); // values are JSON text: the NUL is escaped
  if (testDialect === "postgres") expect(out).toMatchObject({ set: "kv: a key cannot contain U+0000 on this server (its database is PostgreSQL)", get: null, del: false });
  else expect(out).toMatchObject({ set: "stored", get: 1, del: true });
  await s.app.internals.invocations.flush();
  const logs = (await call(t, "GET", `/v1/agents/${a.id}/logs`)).body.data as { message: string }[];
  expect(logs.map((l) => l.message)).toContain(testDialect === "postgres" ? "before\uFFFDafter" : "before\u0000after");
});
