/**
 * Contract: what a guest can do — SDK routing, validation and errors, describe(), the Web
 * globals, kv persisted in SQLite, scheduled handlers, logs, module reloads.
 */
import { describe, expect, test } from "bun:test";
import { json, req, text, type Harness, bundle } from "../harness";
import { CAPS, EVAL } from "./fixtures";

export function capabilityTests(h: () => Harness) {
  describe("SDK", () => {
    test("routes with params, query coercion, validation, errors, describe()", async () => {
      const H = h();
      const ref = H.ref("caps", await bundle(CAPS), { env: { REGION: "eu" } });
      const d = await H.runtime.check(ref);
      expect(d.scheduled).toBe(true);
      expect(d.routes.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /items/:id", "POST /items", "POST /boom", "GET /raw", "DELETE /items/:id"]);
      expect(d.routes[0]!.summary).toBe("Get an item");
      expect(d.routes[1]!.input).toMatchObject({ type: "object", required: ["name", "qty"], properties: { qty: { type: "integer", minimum: 1 } } });
      const f = (m: string, p: string, b?: unknown) => H.runtime.fetch(ref, req(m, p, b));
      expect(json(await f("GET", "/items/7?verbose=true"))).toEqual({ id: 7, verbose: true });
      const nf = await f("GET", "/items/404");
      expect(nf.status).toBe(404);
      expect(json(nf)).toEqual({ error: { code: "item_not_found", message: "no such item" } });
      const ok = await f("POST", "/items", { name: "a", qty: 2 });
      expect(json(ok)).toEqual({ saved: { name: "a", qty: 2 }, method: "POST", env: "eu" });
      expect(ok.headers).toContainEqual(["content-type", "application/json"]);
      const bad = await f("POST", "/items", { name: "", qty: 0.5, tags: [1] });
      expect(bad.status).toBe(400);
      const issues = json(bad).error.details as { field: string; rule: string }[];
      expect(issues.map((i) => `${i.field}:${i.rule}`).sort()).toEqual(["name:minLength", "qty:type", "tags[0]:type"]);
      expect((await f("POST", "/items", "{nope")).status).toBe(400);
      expect(json(await f("POST", "/items", "{nope")).error.code).toBe("invalid_json");
      const boom = await f("POST", "/boom");
      expect(boom.status).toBe(500);
      expect(json(boom).error).toEqual({ code: "internal_error", message: "kaput" });
      expect(boom.logs.some((l) => l.level === "error" && l.message.includes("kaput"))).toBe(true);
      const raw = await f("GET", "/raw");
      expect([raw.status, text(raw)]).toEqual([201, "plain"]);
      expect(raw.headers).toContainEqual(["x-kind", "raw"]);
      expect((await f("DELETE", "/items/3")).status).toBe(204);
      expect((await f("GET", "/nowhere")).status).toBe(404);
      const m = await f("PUT", "/items");
      expect(m.status).toBe(405);
      expect(m.headers).toContainEqual(["allow", "POST"]);
    });

    test("scheduled handler runs with ctx.kv and logs", async () => {
      const H = h();
      const ref = H.ref("cron", await bundle(CAPS));
      const r1 = await H.runtime.scheduled(ref);
      await H.runtime.scheduled(ref);
      expect(r1.ok).toBe(true);
      expect(r1.logs.map((l) => l.message)).toContain("tick");
      const row = H.db.sqlite.query("SELECT value FROM kv WHERE agent_id = 'cron' AND key = 'cron'").get() as { value: string };
      expect(row.value).toBe("2");
    });

    test("a new bundle for the same agent replaces the old code (no module cache reuse)", async () => {
      const H = h();
      const v = (n: number) => bundle(`import { defineBackend } from "cantrip"; export default defineBackend({ routes: { "GET /": () => ({ v: ${n} }) } });`);
      const a = H.ref("reload", await v(1));
      expect(json(await H.runtime.fetch(a, req("GET", "/")))).toEqual({ v: 1 });
      const b = H.ref("reload", await v(2));
      expect(json(await H.runtime.fetch(b, req("GET", "/")))).toEqual({ v: 2 });
      H.runtime.evict("reload");
      const c = H.ref("reload", await v(3), { bundleId: a.bundleId + "-again" });
      expect(json(await H.runtime.fetch(c, req("GET", "/")))).toEqual({ v: 3 });
    });

    test("load failures are typed: syntax error, throwing module, bad default export", async () => {
      const H = h();
      for (const code of ["export default {", "throw new Error('top-level boom')", "export default 42;", `import x from "node:fs"; export default x;`]) {
        const err = await H.runtime.check(H.ref("broken", code)).catch((e) => e);
        expect(err.code).toBe("endpoint_unreachable");
        expect(err.details.reason).toBe("load_failed");
      }
    });
  });

  describe("Web globals", () => {
    const run = async (H: Harness, code: string) => {
      const r = await H.runtime.fetch(H.ref("web", await bundle(EVAL), { bundleId: "web-eval" }), req("POST", "/eval", { code }));
      if (r.status !== 200) throw new Error(`guest error ${r.status}: ${text(r)}`);
      return json(r).result;
    };
    test("URL, URLSearchParams, Headers, TextEncoder/Decoder, atob/btoa, structuredClone, crypto", async () => {
      const H = h();
      expect(await run(H, `const u = new URL("/a/../b/c?x=1&y=a+b#h", "https://Example.com:443/base/");
        u.searchParams.append("z", "ä &"); return [u.href, u.host, u.pathname, u.searchParams.get("y"), u.origin];`)).toEqual([
        "https://example.com/b/c?x=1&y=a+b&z=%C3%A4+%26#h", "example.com", "/b/c", "a b", "https://example.com",
      ]);
      expect(await run(H, `const h = new Headers({"X-A": "1"}); h.append("x-a", "2"); return [h.get("X-A"), [...h].length, h.has("nope")];`)).toEqual(["1, 2", 1, false]);
      expect(await run(H, `const b = new TextEncoder().encode("héllo €"); return [b.length, new TextDecoder().decode(b), btoa("hi!"), atob("aGkh")];`)).toEqual([10, "héllo €", "aGkh", "hi!"]);
      expect(await run(H, `const o = { d: new Date(0), m: new Map([[1, {a: 1}]]), arr: [1, 2] }; o.self = o; const c = structuredClone(o);
        return [c !== o, c.self === c, c.d.getTime(), c.m.get(1).a, c.arr];`)).toEqual([true, true, 0, 1, [1, 2]]);
      const [uuid, distinct, bytes] = await run(H, `const a = new Uint8Array(32); crypto.getRandomValues(a);
        return [crypto.randomUUID(), crypto.randomUUID() !== crypto.randomUUID(), a.some((x) => x !== 0)];`);
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect([distinct, bytes]).toEqual([true, true]);
      expect(await run(H, `const r = new Request("https://x.test/p", { method: "post", body: JSON.stringify({a: 1}) });
        const res = Response.json({ ok: 1 }, { status: 202 });
        return [r.method, (await r.json()).a, res.status, await res.text(), res.headers.get("content-type")];`)).toEqual(["POST", 1, 202, '{"ok":1}', "application/json"]);
    });

    test("console is captured; setTimeout/clearTimeout work within the call", async () => {
      const H = h();
      const ref = H.ref("web", await bundle(EVAL), { bundleId: "web-eval" });
      const r = await H.runtime.fetch(ref, req("POST", "/eval", { code: `console.log("a", {b: 1}); console.warn("w"); ctx.log.error("e");
        let fired = 0; const t = setTimeout(() => fired += 100, 5); clearTimeout(t);
        await new Promise((res) => setTimeout(() => { fired++; res(); }, 20)); return fired;` }));
      expect(json(r).result).toBe(1);
      expect(r.logs.map((l) => [l.level, l.message])).toEqual([["log", 'a {"b":1}'], ["warn", "w"], ["error", "e"]]);
      expect(r.wallMs).toBeGreaterThanOrEqual(15);
      expect(r.cpuMs).toBeLessThan(r.wallMs);
    });

    test("kv: JSON values per agent persisted in SQLite, list with prefix and cursor, size limits reject", async () => {
      const H = h();
      const code = await bundle(EVAL);
      const run2 = async (agent: string, c: string, limits = {}) => json(await H.runtime.fetch(H.ref(agent, code, { bundleId: `kv-${agent}`, limits }), req("POST", "/eval", { code: c }))).result;
      await run2("kv-a", `for (const k of ["u:1", "u:2", "u:3", "x"]) await ctx.kv.set(k, { k }); return true;`);
      expect(await run2("kv-b", `return (await ctx.kv.get("u:1")) ?? "absent";`)).toBe("absent");
      H.runtime.evict("kv-a");
      expect(await run2("kv-a", `const p1 = await ctx.kv.list({ prefix: "u:", limit: 2 }); const p2 = await ctx.kv.list({ prefix: "u:", cursor: p1.cursor });
        return [await ctx.kv.get("u:2"), p1, p2, await ctx.kv.delete("x"), await ctx.kv.delete("x"), await ctx.kv.get("x")];`)).toEqual([
        { k: "u:2" }, { keys: ["u:1", "u:2"], cursor: "u:2" }, { keys: ["u:3"], cursor: null }, true, false, null,
      ]);
      const msg = await run2("kv-c", `try { await ctx.kv.set("big", "x".repeat(2000)); return "stored"; } catch (e) { return e.message; }`, { kvValueBytes: 1000 });
      expect(msg).toContain("over the limit of 1000 bytes");
      const total = await run2("kv-d", `await ctx.kv.set("a", "x".repeat(600)); try { await ctx.kv.set("b", "x".repeat(600)); return "stored"; } catch (e) { return e.message; }`, { kvTotalBytes: 1000 });
      expect(total).toContain("over this agent's limit of 1000 bytes");
    });
  });
}
