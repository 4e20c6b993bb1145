/**
 * Contract: what an SDK handler sees of its request and what its result becomes, whichever
 * way the guest is called (issue 15): the lean calling convention (the request's parts cross;
 * `ctx.request` and `ctx.searchParams` are made on first read; a JSON result comes back as
 * one string) and the full path (`dispatch: "full"`: the Request is built first). Each
 * engine runs this suite on both (runContract's `dispatch` option), with the same
 * expectations, so the two paths answer identically. It also covers the cases the lean path
 * hands to the full one: HEAD, a URL not in serialized form, a backend whose fetch the
 * module replaced.
 */
import { describe, expect, test } from "bun:test";
import { bundle, json, text, type Harness } from "../harness";
import type { GuestResponse } from "../../../src/runtime";

const SDK = `
import { defineBackend, t, HttpError } from "cantrip";
const seen = new Set();
const swap = { handle: (input) => ({ first: true }) };
// A route whose handle is a getter: one read gives a one-parameter arrow, the others a function that reads ctx.
const readsOfGetter = { n: 0 };
const needsCtx = function (input, ctx) { return { n: arguments.length, agentId: ctx.agentId }; };
const getter = { get handle() { return ++readsOfGetter.n === 2 ? (input) => ({ arrow: true }) : needsCtx; } };
const backend = defineBackend({
  routes: {
    // Handlers that can reach their second argument get ctx; only a plain one-parameter arrow may go without it (router.ts ctxFree).
    "POST /args-fn": function (input) { return { n: arguments.length, agentId: arguments[1].agentId }; },
    "POST /args-method": { handle(input) { return { n: arguments.length, agentId: arguments[1].agentId }; } },
    "POST /args-default": (input, ctx = null) => ({ agentId: ctx && ctx.agentId }),
    "POST /args-pattern": (input, { agentId } = {}) => ({ agentId }),
    "POST /args-rest": (...args) => ({ n: args.length, agentId: args[1].agentId }),
    "POST /args-comment": (input /* , ctx */) => ({ n: 1 }),
    "POST /swap": swap,
    "POST /getter": getter,
    "GET /static/a.b": () => ({ hit: "static" }),
    "POST /thenable": () => ({ then(resolve) { resolve({ via: "thenable" }); } }),
    "POST /thenable-throws": () => ({ then() { throw new Error("thenable broke"); } }),
    "POST /req/:id": {
      input: t.Object({ id: t.Integer(), n: t.Optional(t.Number()), tags: t.Optional(t.Array(t.String())) }),
      handle: async (input, ctx) => {
        const r1 = ctx.request, r2 = ctx.request;
        const d = Object.getOwnPropertyDescriptor(ctx, "request");
        return {
          input, same: r1 === r2, isRequest: r1 instanceof Request, url: r1.url, method: r1.method,
          headers: [...r1.headers], ct: r1.headers.get("content-type"), text: await r1.text(), used: r1.bodyUsed,
          query: ctx.query, sp: [...ctx.searchParams], params: ctx.params, keys: Object.keys(ctx), enumerable: d.enumerable, lazy: typeof d.get === "function",
          agentId: ctx.agentId, env: ctx.env,
        };
      },
    },
    "POST /plain": { input: t.Object({ n: t.Number() }), handle: (input) => ({ n: input.n * 2 }) },
    "POST /text": { input: t.String(), handle: (input) => ({ got: input }) },
    "POST /form": { input: t.Object({ a: t.Integer(), b: t.Array(t.String()) }), handle: (input) => input },
    "POST /bytes": (input) => ({ bytes: input instanceof Uint8Array ? [...input] : typeof input }),
    "GET /q": { input: t.Object({ n: t.Optional(t.Integer()), tag: t.Optional(t.Array(t.String())) }), handle: (input, ctx) => ({ input, query: ctx.query, sp: [...ctx.searchParams] }) },
    "GET /none": () => undefined,
    "GET /response": () => new Response("made", { status: 202, headers: { "x-made": "1" } }),
    "GET /http-error": () => { throw new HttpError(409, "taken", { details: { id: 1 } }); },
    "GET /throw": () => { throw new Error("broken"); },
    "GET /bigint": () => ({ n: 1n }),
    "GET /undefined-json": () => ({ toJSON: () => undefined }),
    "GET /cycle": () => { const o = {}; o.o = o; return o; },
    "GET /tojson": () => ({ toJSON() { seen.add("x"); return { calls: seen.size, at: "once" }; } }),
    "POST /reassign": (input, ctx) => { const before = ctx.request.url; ctx.request = "replaced"; ctx.searchParams = 7; return { before, after: ctx.request, sp: ctx.searchParams }; },
    "POST /reassign-all": (input, ctx) => {
      const spread = Object.keys({ ...ctx });
      ctx.env = "e"; ctx.kv = "k"; ctx.fetch = "f"; ctx.log = "l";
      return { spread, after: [ctx.env, ctx.kv, ctx.fetch, ctx.log], kinds: [typeof Object.getOwnPropertyDescriptor(ctx, "kv").value, typeof Object.getOwnPropertyDescriptor(ctx, "kv").get] };
    },
    "GET /sp/:n": (input, ctx) => { ctx.searchParams.append("added", ctx.params.n); return { path: new URL(ctx.request.url).pathname, sp: [...ctx.searchParams] }; },
    "POST /rules": {
      input: t.Object({
        name: t.String({ minLength: 2, maxLength: 4, pattern: "^[a-z]+$" }),
        mail: t.Optional(t.String({ format: "email" })),
        n: t.Optional(t.Number({ minimum: 1, maximum: 9, multipleOf: 0.5 })),
        k: t.Optional(t.Integer({ exclusiveMinimum: 0, exclusiveMaximum: 3 })),
        kind: t.Optional(t.Union([t.Literal("a"), t.Literal(2)])),
        color: t.Optional(t.Enum(["red", "blue"])),
        list: t.Optional(t.Array(t.Object({ id: t.Integer() }), { minItems: 1, maxItems: 2 })),
        tags: t.Optional(t.Record(t.String(), t.Boolean())),
        mode: t.Optional(t.String({ default: "fast" })),
        nothing: t.Optional(t.Nullable(t.String())),
      }, { additionalProperties: false }),
      handle: (input) => ({ input }),
    },
    "GET /coerce": { input: t.Object({ n: t.Number(), b: t.Boolean(), i: t.Optional(t.Integer()) }), handle: (input) => ({ input }) },
    "POST /global-pattern": { input: t.Object({ s: t.String({ pattern: /^a+$/g }) }), handle: (input) => input },
    "GET /proto-kv": (input, ctx) => {
      // A library that adds to Object.prototype does not change what ctx's members are.
      Object.prototype.kv = "inherited"; Object.prototype.log = "inherited"; Object.prototype.env = "inherited";
      try { return { kv: typeof ctx.kv, log: typeof ctx.log, env: typeof ctx.env }; } finally { delete Object.prototype.kv; delete Object.prototype.log; delete Object.prototype.env; }
    },
    "GET /dup/:id/x/:id": (input, ctx) => ({ input, params: ctx.params }),
    "GET /ctx-proto/:n": (input, ctx) => {
      // A ctx used as a prototype (a library extending it) reads through to it.
      const child = Object.create(ctx);
      const read = { agentId: child.agentId, env: child.env, kv: typeof child.kv, same: child.kv === ctx.kv, params: child.params };
      ctx.env = "assigned";
      const two = Object.create(child);
      return { read, own: Object.keys(child), grand: [two.env, typeof two.log, two.log === ctx.log, two.query.q] };
    },
    "POST /kv": async (input, ctx) => { await ctx.kv.set("k", input); ctx.log("stored", input); return { back: await ctx.kv.get("k") }; },
  },
});
// Replaced after defineBackend: the new handler reads ctx, so it gets one.
swap.handle = (input, ctx) => ({ agentId: ctx.agentId });
export default backend;
`;

/** A module that replaced the SDK backend's fetch: it is called through that fetch. */
const REPLACED = `
import { defineBackend } from "cantrip";
const b = defineBackend({ routes: { "POST /": () => ({ from: "sdk" }) } });
const sdkFetch = b.fetch;
b.fetch = async (req) => { const r = await sdkFetch(req); return new Response("wrapped:" + (await r.text()), { status: 201 }); };
export default b;
`;

const enc = (s: string) => new TextEncoder().encode(s);

export function sdkCallTests(h: () => Harness) {
  describe("SDK calling convention", () => {
    const call = async (code: string, method: string, path: string, body: string | Uint8Array | null, headers: [string, string][] = [["content-type", "application/json"]], host = "sdk.cantrip.internal") => {
      const H = h();
      const ref = H.ref("sdkcalls", await bundle(code), { env: { REGION: "eu" } });
      return H.runtime.fetch(ref, { method, url: `http://${host}${path}`, headers, body: typeof body === "string" ? enc(body) : body });
    };
    const sdk = (method: string, path: string, body: string | Uint8Array | null = null, headers?: [string, string][]) => call(SDK, method, path, body, headers);
    const shape = (r: GuestResponse) => ({ status: r.status, headers: r.headers, body: text(r) });

    test("ctx.request is the incoming Request (made once, on first read), its body still readable; ctx keys and order", async () => {
      const r = await sdk("POST", "/req/5?n=2&x=a&x=b", '{"n":3,"tags":["a"]}', [["content-type", "application/json"], ["x-request-id", "rid-1"]]);
      expect(r.status).toBe(200);
      expect(r.headers).toEqual([["content-type", "application/json"]]);
      expect(json(r)).toEqual({
        input: { id: 5, n: 3, tags: ["a"] }, same: true, isRequest: true, url: "http://sdk.cantrip.internal/req/5?n=2&x=a&x=b", method: "POST",
        headers: [["content-type", "application/json"], ["x-request-id", "rid-1"]], ct: "application/json", text: '{"n":3,"tags":["a"]}', used: true,
        query: { n: "2", x: "a" }, sp: [["n", "2"], ["x", "a"], ["x", "b"]], params: { id: "5" },
        keys: ["request", "params", "query", "searchParams", "env", "kv", "fetch", "secrets", "log", "agentId"], enumerable: true,
        // The one difference a handler can see: on the lean path ctx.request is an accessor (made on first read).
        lazy: h().dispatch === "lean",
        agentId: "sdkcalls", env: { REGION: "eu" },
      });
    });

    test("a JSON result is Response.json's answer: status 200, one content-type header, the exact text", async () => {
      const r = await sdk("POST", "/plain", '{"n":21}');
      expect(shape(r)).toEqual({ status: 200, headers: [["content-type", "application/json"]], body: '{"n":42}' });
      const tj = await sdk("GET", "/tojson");
      expect(json(tj)).toEqual({ calls: 1, at: "once" });
    });

    test("bodies by content type: text, form fields, bytes, JSON mislabelled, a padded or repeated content-type", async () => {
      expect(json(await sdk("POST", "/text", "hello", [["content-type", "text/plain"]]))).toEqual({ got: "hello" });
      expect(json(await sdk("POST", "/form", "a=4&b=x&b=y", [["content-type", "application/x-www-form-urlencoded"]]))).toEqual({ a: 4, b: ["x", "y"] });
      expect(json(await sdk("POST", "/bytes", new Uint8Array([1, 2, 255]), [["content-type", "application/octet-stream"]]))).toEqual({ bytes: [1, 2, 255] });
      expect(json(await sdk("POST", "/plain", '{"n":1}', [["content-type", "text/plain;charset=UTF-8"]]))).toEqual({ n: 2 });
      expect(json(await sdk("POST", "/plain", '{"n":1}', []))).toEqual({ n: 2 });
      // Headers.get joins a repeated name: "text/plain, application/json" is not JSON's type.
      const twice = await sdk("POST", "/text", "hi", [["content-type", "text/plain"], ["Content-Type", "application/json"]]);
      expect(shape(twice)).toEqual(shape(await sdk("POST", "/text", "hi", [["content-type", "text/plain, application/json"]])));
      expect(json(twice)).toEqual({ got: "hi" });
      const bad = await sdk("POST", "/plain", "{nope", [["content-type", "application/json"]]);
      expect(bad.status).toBe(400);
      expect(json(bad).error.code).toBe("invalid_json");
    });

    test("query input, 204, a Response result, HttpError, thrown errors and results that are not JSON", async () => {
      expect(json(await sdk("GET", "/q?n=3&tag=a&tag=b"))).toEqual({ input: { n: 3, tag: ["a", "b"] }, query: { n: "3", tag: "a" }, sp: [["n", "3"], ["tag", "a"], ["tag", "b"]] });
      expect(json(await sdk("GET", "/q"))).toEqual({ input: {}, query: {}, sp: [] });
      expect(shape(await sdk("GET", "/none"))).toEqual({ status: 204, headers: [], body: "" });
      expect(shape(await sdk("GET", "/response"))).toEqual({ status: 202, headers: [["content-type", "text/plain;charset=UTF-8"], ["x-made", "1"]], body: "made" });
      const he = await sdk("GET", "/http-error");
      expect(shape(he)).toEqual({ status: 409, headers: [["content-type", "application/json"]], body: '{"error":{"code":"conflict","message":"taken","details":{"id":1}}}' });
      const thrown = await sdk("GET", "/throw");
      expect(thrown.status).toBe(500);
      expect(json(thrown)).toEqual({ error: { code: "internal_error", message: "broken" } });
      expect(thrown.logs.map((l) => l.message)[0]).toContain("Unhandled error in handler:");
      for (const p of ["/bigint", "/undefined-json", "/cycle"]) {
        const r = await sdk("GET", p);
        expect(r.status).toBe(500);
        expect(json(r).error.code).toBe("internal_error");
      }
      expect(json(await sdk("GET", "/undefined-json")).error.message).toBe("Response.json: the data is not JSON-serializable");
      expect(shape(await sdk("GET", "/nowhere"))).toEqual({ status: 404, headers: [["content-type", "application/json"]], body: '{"error":{"code":"not_found","message":"No route for GET /nowhere"}}' });
      const notAllowed = await sdk("PUT", "/plain", "{}");
      expect(notAllowed.status).toBe(405);
      expect(notAllowed.headers).toContainEqual(["allow", "POST"]);
    });

    test("every handler that can read its second argument gets ctx (a function, a method, a default, a pattern, a rest, a handler replaced after defineBackend); thenables are adopted", async () => {
      for (const p of ["/args-fn", "/args-method"]) expect(json(await sdk("POST", p, "{}"))).toEqual({ n: 2, agentId: "sdkcalls" });
      for (const p of ["/args-default", "/args-pattern", "/swap"]) expect(json(await sdk("POST", p, "{}"))).toEqual({ agentId: "sdkcalls" });
      expect(json(await sdk("POST", "/args-rest", "{}"))).toEqual({ n: 2, agentId: "sdkcalls" });
      expect(json(await sdk("POST", "/args-comment", "{}"))).toEqual({ n: 1 });
      expect(json(await sdk("POST", "/thenable", "{}"))).toEqual({ via: "thenable" });
      const broke = await sdk("POST", "/thenable-throws", "{}");
      expect(broke.status).toBe(500);
      expect(json(broke)).toEqual({ error: { code: "internal_error", message: "thenable broke" } });
    });

    test("a handle getter: whichever function it gives at call time gets ctx if it can read it (the route is compiled from one read)", async () => {
      for (let i = 0; i < 3; i++) {
        const r = await sdk("POST", "/getter", "{}");
        expect(r.status).toBe(200);
        const out = json(r);
        expect(out.arrow ? out : { n: out.n, agentId: out.agentId }).toEqual(out.arrow ? { arrow: true } : { n: 2, agentId: "sdkcalls" });
      }
    });

    test("backend.fetch answers with a real promise even when the module replaced Promise.resolve", async () => {
      const code = `import { defineBackend } from "cantrip";
const b = defineBackend({ routes: { "POST /": () => ({ ok: 1 }), "POST /async": async () => ({ ok: 2 }) } });
export default { async fetch(req) {
  const resolve = Promise.resolve, reject = Promise.reject;
  Promise.resolve = () => "not a promise";
  Promise.reject = () => "not a promise";
  let p;
  try { p = b.fetch(req); } finally { Promise.resolve = resolve; Promise.reject = reject; }
  const r = await p;
  return Response.json({ kind: Object.prototype.toString.call(p), body: await r.json() });
} };`;
      for (const [path, ok] of [["/", 1], ["/async", 2]] as const) expect(json(await call(code, "POST", path, "{}"))).toEqual({ kind: "[object Promise]", body: { ok } });
    });

    test("a path without parameters matches as its pattern did: with or without a trailing slash, a dot as a dot, case as written", async () => {
      for (const p of ["/static/a.b", "/static/a.b/", "/static/a.b?x=1"]) expect(json(await sdk("GET", p))).toEqual({ hit: "static" });
      for (const p of ["/static/aXb", "/Static/a.b", "/static/a.b//", "/static/a.b/c", "/static"]) expect((await sdk("GET", p)).status).toBe(404);
    });

    test("ctx.request and ctx.searchParams can be assigned; ctx.kv and ctx.log name the call", async () => {
      expect(json(await sdk("POST", "/reassign", "{}"))).toEqual({ before: "http://sdk.cantrip.internal/reassign", after: "replaced", sp: 7 });
      // env, kv, fetch and log too: assignable like data properties, all in a spread of ctx.
      const all = json(await sdk("POST", "/reassign-all", "{}"));
      expect(all.spread).toEqual(["request", "params", "query", "searchParams", "env", "kv", "fetch", "secrets", "log", "agentId"]);
      expect(all.after).toEqual(["e", "k", "f", "l"]);
      // Lean: accessors made on first read; full: data properties.
      expect(all.kinds).toEqual(h().dispatch === "lean" ? ["undefined", "function"] : ["string", "undefined"]);
      const r = await sdk("POST", "/kv", '{"v":1}');
      expect(json(r)).toEqual({ back: { v: 1 } });
      expect(r.logs.map((l) => l.message)).toEqual(['stored {"v":1}']);
    });

    test("input validation: every rule's issue and message, defaults, coercion of query strings, twice in a row", async () => {
      const bad = JSON.stringify({ name: "A1bcde", mail: "nope", n: 9.25, k: 3, kind: "b", color: "green", list: [{ id: 1.5 }, { id: 2 }, { id: "x" }], tags: { ok: true, no: "yes" }, nothing: 5, extra: 1 });
      const expected = [
        "name:maxLength:must be at most 4 characters", "name:pattern:must match ^[a-z]+$", "mail:format:must be a valid email",
        "n:maximum:must be <= 9", "n:multipleOf:must be a multiple of 0.5", "k:exclusiveMaximum:must be < 3",
        "kind:anyOf:must match one of the allowed shapes", "color:enum:must be one of \"red\", \"blue\"",
        "list:maxItems:must have at most 2 items", "list[0].id:type:must be an integer", "list[2].id:type:must be an integer",
        "tags.no:type:must be a boolean", "nothing:anyOf:must match one of the allowed shapes", "extra:additionalProperties:is not allowed",
      ];
      // Twice on one instance (each sdk() call is a fresh bundle, so a fresh instance): the
      // second call runs the checkers the first compiled.
      const H = h();
      const ref = H.ref("sdk-rules", await bundle(SDK));
      for (let i = 0; i < 2; i++) {
        const r = await H.runtime.fetch(ref, { method: "POST", url: "http://sdk.cantrip.internal/rules", headers: [["content-type", "application/json"]], body: enc(bad) });
        expect(r.status).toBe(400);
        expect(json(r).error.code).toBe("invalid_request");
        expect(json(r).error.details.map((d: { field: string; rule: string; message: string }) => `${d.field}:${d.rule}:${d.message}`)).toEqual(expected);
      }
      const missing = await sdk("POST", "/rules", JSON.stringify({ list: [] }));
      expect(json(missing).error.details.map((d: { field: string; rule: string }) => `${d.field}:${d.rule}`)).toEqual(["name:required", "list:minItems"]);
      expect(json(await sdk("POST", "/rules", JSON.stringify({ name: "ab", kind: 2, nothing: null })))).toEqual({ input: { name: "ab", kind: 2, nothing: null, mode: "fast" } });
      expect(json(await sdk("GET", "/coerce?n=1.5&b=false&i=7"))).toEqual({ input: { n: 1.5, b: false, i: 7 } });
      const notNumber = await sdk("GET", "/coerce?n=x&b=true");
      expect(json(notNumber).error.details.map((d: { field: string; rule: string }) => `${d.field}:${d.rule}`)).toEqual(["n:type"]);
    });

    test("keys named like Object.prototype's members are checked as any other: refused when not allowed, validated in a record", async () => {
      const r = await sdk("POST", "/rules", '{"name":"ab","constructor":1,"toString":2,"tags":{"valueOf":"x","hasOwnProperty":true}}');
      expect(r.status).toBe(400);
      expect(json(r).error.details.map((d: { field: string; rule: string }) => `${d.field}:${d.rule}`)).toEqual(["tags.valueOf:type", "constructor:additionalProperties", "toString:additionalProperties"]);
    });

    test("a call's validation does not depend on an earlier call's: a global-flag pattern is matched from the start every time", async () => {
      const H = h();
      const ref = H.ref("sdk-pattern", await bundle(SDK));
      const post = (body: string) => H.runtime.fetch(ref, { method: "POST", url: "http://sdk.cantrip.internal/global-pattern", headers: [["content-type", "application/json"]], body: enc(body) });
      for (let i = 0; i < 3; i++) expect(json(await post('{"s":"aaa"}'))).toEqual({ s: "aaa" });
      expect(json(await post('{"s":"ab"}')).error.details).toEqual([{ field: "s", rule: "pattern", message: "must match /^a+$/g" }]);
    });

    test("ctx's members are its own: names added to Object.prototype do not replace them", async () => {
      expect(json(await sdk("GET", "/proto-kv"))).toEqual({ kv: "object", log: "function", env: "object" });
    });

    test("a path parameter named twice: the last segment's value, in params and in the input", async () => {
      expect(json(await sdk("GET", "/dup/a/x/b"))).toEqual({ input: { id: "b" }, params: { id: "b" } });
    });

    test("a ctx used as a prototype reads through to it", async () => {
      expect(json(await sdk("GET", "/ctx-proto/4?q=z"))).toEqual({
        read: { agentId: "sdkcalls", env: { REGION: "eu" }, kv: "object", same: true, params: { n: "4" } },
        own: [],
        grand: ["assigned", "function", true, "z"],
      });
    });

    test("each call gets its own URL parts and searchParams, also when the same URL comes again", async () => {
      const H = h();
      const ref = H.ref("sdk-sp", await bundle(SDK));
      const get = (path: string) => H.runtime.fetch(ref, { method: "GET", url: `http://sdk.cantrip.internal${path}`, headers: [], body: null });
      expect(json(await get("/sp/1?x=1"))).toEqual({ path: "/sp/1", sp: [["x", "1"], ["added", "1"]] });
      expect(json(await get("/sp/2"))).toEqual({ path: "/sp/2", sp: [["added", "2"]] });
      // The first call's append does not show in a later call on the same URL.
      expect(json(await get("/sp/1?x=1"))).toEqual({ path: "/sp/1", sp: [["x", "1"], ["added", "1"]] });
    });

    test("HEAD, a URL not in serialized form and a replaced fetch are answered as before", async () => {
      const head = await sdk("HEAD", "/q?n=1");
      expect(head.status).toBe(200);
      expect(head.body.byteLength).toBe(0);
      // An upper-case host and a dot segment: the URL parser serializes them.
      const odd = await call(SDK, "POST", "/x/../req/9", '{"n":1}', [["content-type", "application/json"]], "SDK.cantrip.internal");
      expect(json(odd)).toMatchObject({ input: { id: 9, n: 1 }, url: "http://sdk.cantrip.internal/req/9", params: { id: "9" } });
      const wrapped = await call(REPLACED, "POST", "/", "{}");
      expect(shape(wrapped)).toEqual({ status: 201, headers: [["content-type", "text/plain;charset=UTF-8"]], body: 'wrapped:{"from":"sdk"}' });
    });
  });
}
