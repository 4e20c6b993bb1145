/**
 * Contract: values from the guest are checked where they enter the host (issue 12 §1).
 * Every shape of the hostile-response corpus ends as bad_response (reason in the message),
 * the instance that produced it is recycled (a poisoned global does not survive into the
 * next call), a bystander agent answers before and after, and describe() and scheduled
 * results are held to the same standard.
 */
import { describe, expect, test } from "bun:test";
import { bundle, failureOf, json, req, type Harness } from "../harness";
import { BYSTANDER, EVAL } from "./fixtures";
import { HOSTILE_SHAPES, hostileBackend } from "../../fixtures/hostile-responses";

export function hostileTests(h: () => Harness) {
  describe("hostile responses", () => {
    const bystander = async (H: Harness) => {
      const r = await H.runtime.fetch(H.ref("hostile-bystander", await bundle(BYSTANDER), { bundleId: "hostile-bystander" }), req("POST", "/", { n: 2 }));
      expect(r.status).toBe(200);
      expect(json(r).double).toBe(4);
    };

    test("every shape is 502 bad_response with its reason; the instance is recycled; a bystander is served before and after", async () => {
      const H = h();
      const ref = H.ref("hostile", await bundle(hostileBackend()), { bundleId: "hostile", limits: { cpuMs: 5000 } });
      await bystander(H);
      const pid = process.pid;
      for (const shape of HOSTILE_SHAPES) {
        const warm = json(await H.runtime.fetch(ref, req("GET", "/ok")));
        expect(warm.ok).toBe(true);
        const f = await failureOf(() => H.runtime.fetch(ref, req("POST", `/shape/${shape.name}`)));
        expect({ shape: shape.name, code: f.code, reason: f.reason }).toEqual({ shape: shape.name, code: "bad_response", reason: "bad_response" });
        expect(f.message).toMatch(/^The backend returned something that is not a valid HTTP response: /);
        expect({ shape: shape.name, message: f.message }).toMatchObject({ message: expect.stringMatching(shape.expect) });
        expect(f.message).not.toContain("secret-in");
        // The next call runs on a fresh instance: its counter restarted and its globals are the prelude's.
        const after = json(await H.runtime.fetch(ref, req("GET", "/ok")));
        expect({ shape: shape.name, after }).toEqual({ shape: shape.name, after: { ok: true, hits: 1, json: '{"a":[1,2]}' } });
      }
      await bystander(H);
      expect(process.pid).toBe(pid);
    }, 120_000);

    test("the guest's error text from a failed error path stays in the call's logs, not in the message", async () => {
      const H = h();
      const ref = H.ref("hostile-logs", await bundle(hostileBackend()), { bundleId: "hostile-logs" });
      let caught: unknown;
      await H.runtime.fetch(ref, req("POST", "/shape/error-path-fails")).catch((e) => (caught = e));
      const { failureLogs } = await import("../../../src/runtime/failures");
      expect((caught as Error).message).not.toContain("secret-in-console");
      expect(JSON.stringify((caught as { details: unknown }).details)).toBe('{"reason":"bad_response"}');
      expect(failureLogs(caught).some((l) => l.level === "error" && l.message.includes("secret-in-console"))).toBe(true);
    });

    test("a throwing Promise constructor getter fails the call as the guest's own failure (an error answer or bad_response), never as a crash carrying its text", async () => {
      const H = h();
      const poison = `Object.defineProperty(Promise.prototype, "constructor", { configurable: true, get() { throw new Error("secret-in-ctor"); } });`;
      const code = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: {
  "POST /async": async () => { ${poison} return { ok: 1 }; },
  "POST /sync": () => { ${poison} return { ok: 2 }; },
  "POST /response": async () => { ${poison} return new Response("r"); },
} });`;
      const ref = H.ref("hostile-ctor", await bundle(code), { bundleId: "hostile-ctor" });
      for (const path of ["/async", "/sync", "/response"]) {
        const out = await H.runtime.fetch(ref, req("POST", path, {})).then(
          (r) => ({ status: r.status }),
          (e: { code?: string; message: string }) => ({ code: e.code, secret: e.message.includes("secret-in-ctor") }),
        );
        // (QuickJS's SDK turns the throw inside the handler's settling into its 500 answer; V8's bootstrap reports it as the entry's failure.)
        expect({ path, out }).toEqual({ path, out: "status" in out ? { status: out.status === 200 ? 200 : 500 } : { code: "bad_response", secret: false } });
      }
      await bystander(H);
    });

    test("a fetch handler that returns something other than a Response is bad_response", async () => {
      const H = h();
      for (const [i, value] of ["42", "null", "({ status: 200 })"].entries()) {
        const ref = H.ref(`hostile-raw-${i}`, await bundle(`export default { fetch: () => ${value} };`));
        const f = await failureOf(() => H.runtime.fetch(ref, req("GET", "/")));
        expect([f.code, f.message]).toEqual(["bad_response", expect.stringMatching(/not a Response/)]);
      }
      await bystander(H);
    });

    test("describe() output is checked: wrong shapes and deep nesting refuse the bundle", async () => {
      const H = h();
      const describeOf = (body: string) => `export default { __cantrip: 1, fetch: () => new Response("x"), describe: () => { ${body} } };`;
      const cases: [string, RegExp][] = [
        [`return { routes: "nope" };`, /routes is not a list/],
        [`return { routes: [{ method: "G ET", path: "/" }] };`, /a route's method is "G ET"/],
        [`return { routes: [{ method: "GET", path: "no-slash" }] };`, /a route's path is "no-slash"/],
        [`return { routes: [{ method: "GET", path: "/", summary: 5 }] };`, /summary is not a string/],
        [`let x = {}; for (let i = 0; i < 100; i++) x = { a: x }; return { routes: [{ method: "GET", path: "/", input: x }] };`, /nests deeper than 64 levels/],
        [`return { routes: Array.from({ length: 501 }, (_, i) => ({ method: "GET", path: "/r" + i })) };`, /501 routes \(limit 500\)/],
        [`JSON.stringify = () => 5; return { routes: [] };`, /it is not text/],
      ];
      for (const [body, why] of cases) {
        const f = await failureOf(() => H.runtime.check(H.ref("hostile-describe", describeOf(body))));
        expect({ body, reason: f.reason, message: f.message }).toEqual({ body, reason: "load_failed", message: expect.stringMatching(why) });
      }
      const good = await H.runtime.check(H.ref("hostile-describe", describeOf(`return { routes: [{ method: "GET", path: "/", summary: "s", input: { type: "object" } }], scheduled: true };`)));
      expect(good).toEqual({ routes: [{ method: "GET", path: "/", summary: "s", input: { type: "object" } }], scheduled: true });
      await bystander(H);
    });

    test("scheduled results are checked: an empty throw is a failure, a huge error text is capped", async () => {
      const H = h();
      const cron = (body: string) => `import { defineBackend } from "cantrip"; export default defineBackend({ routes: {}, scheduled: async () => { ${body} } });`;
      const empty = await H.runtime.scheduled(H.ref("hostile-cron", await bundle(cron(`throw "";`))));
      expect(empty.ok).toBe(false);
      const huge = await H.runtime.scheduled(H.ref("hostile-cron", await bundle(cron(`throw new Error("e".repeat(1e6));`))));
      expect(huge.ok).toBe(false);
      expect(huge.error!.length).toBeLessThan(9000);
      await bystander(H);
    });

    test("host-call arguments are checked at one point: keys, list options, deep values, fetch headers, poisoned JSON", async () => {
      const H = h();
      const ref = H.ref("hostile-hostcalls", await bundle(EVAL), { bundleId: "hostile-hostcalls" });
      const run = async (code: string) => json(await H.runtime.fetch(ref, req("POST", "/eval", { code }))).result;
      const attempt = (expr: string) => `try { await ${expr}; return "accepted"; } catch (e) { return String(e && e.message); }`;
      expect(await run(attempt(`ctx.kv.get({})`))).toMatch(/kv: key must be a non-empty string/);
      expect(await run(attempt(`ctx.kv.list({ prefix: { not: "text" } })`))).toMatch(/kv.list: prefix must be a string/);
      expect(await run(attempt(`ctx.kv.list({ cursor: 5 })`))).toMatch(/kv.list: cursor must be a string/);
      const t0 = performance.now();
      expect(await run(`let v = 1; for (let i = 0; i < 1000; i++) v = [v]; ${attempt("ctx.kv.set('deep', v)")}`)).toMatch(/nests deeper than 256 levels/);
      // Deeper than the guest's own JSON.stringify can go: text built by hand (re-serialising it would stall the host).
      expect(await run(`const s = JSON.stringify; JSON.stringify = () => '{"key":"d","value":' + "[".repeat(100000) + "]".repeat(100000) + "}"; let r; try { await ctx.kv.set("d", 1); r = "accepted"; } catch (e) { r = e.message; } JSON.stringify = s; return r;`)).toMatch(/nests deeper than 256 levels/);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(await run(attempt(`fetch("http://example.com/", { headers: { "x-a": "v\\r\\nx-b: evil" } })`))).toMatch(/contains CR, LF, NUL/);
      expect(await run(attempt(`fetch("http://example.com/", { headers: { "x-a": "\\u2603" } })`))).toMatch(/outside Latin-1/);
      expect(await run(`const s = JSON.stringify; JSON.stringify = () => '{"key":5}'; let r; try { await ctx.kv.get("a"); r = "accepted"; } catch (e) { r = e.message; } JSON.stringify = s; return r;`)).toMatch(/kv: key must be/);
      expect(await run(`const s = JSON.stringify; JSON.stringify = () => "not json"; let r; try { await ctx.kv.get("a"); r = "accepted"; } catch (e) { r = e.message; } JSON.stringify = s; return r;`)).toMatch(/kv.get: arguments are not JSON/);
      // Ordinary calls still work after all that.
      expect(await run(`await ctx.kv.set("k", { a: [1] }); return [await ctx.kv.get("k"), (await ctx.kv.list({ prefix: "k", limit: "2" })).keys];`)).toEqual([{ a: [1] }, ["k"]]);
      await bystander(H);
    });
  });
}
