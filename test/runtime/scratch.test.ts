/**
 * Scratch worlds in the real sandbox (QuickJS, real SQLite kv beside it): a bundle whose
 * config names a world writes only that world's kv, its outbound requests are answered by
 * fixtures (query and header matching, secret placeholders checked against the declared
 * secrets), a discarded world leaves nothing, and a config naming a world that is not open
 * never falls back to the live kv. Plus the example templates and the code prompt's worked
 * example (it must compile and answer 201/204 as it teaches).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { quickjsEngine, type BundleRef, type EngineFactory } from "../../src/runtime";
import { probeV8, v8Engine } from "../../src/runtime/v8";
import { resolveTemplates, TemplateError } from "../../src/generate/templates";
import { assertionsOf } from "../../src/generate/spec";
import { ScratchWorlds } from "../../src/runtime/scratch";
import exampleMd from "../../src/generate/prompts/example-backend.md" with { type: "text" };
import { bundle, json, makeHarness, req, type Harness } from "./harness";

let H: Harness;
beforeAll(() => {
  H = makeHarness(quickjsEngine);
});
afterAll(async () => {
  await H.close();
});

const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
const engines: [string, EngineFactory][] = [["quickjs", quickjsEngine], ...(probe.ok ? [["v8", v8Engine({ node: probe.runtime.node })] as [string, EngineFactory]] : [])];
if (!probe.ok) console.warn(`[scratch v8] SKIPPED: ${probe.error}`);

const GUEST = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: {
  "POST /put": async (input, ctx) => { await ctx.kv.set("k", input); return { ok: true }; },
  "GET /get": async (_i, ctx) => ({ v: (await ctx.kv.get("k")) ?? null, keys: (await ctx.kv.list()).keys }),
  "GET /up": async (_i, ctx) => {
    try {
      const r = await ctx.fetch("https://api.up.example/v1/x?b=2&a=1", { headers: { authorization: "Bearer " + ctx.secrets.ref("UP_KEY") } });
      return { status: r.status, body: await r.json() };
    } catch (e) { return { error: String((e as Error).message) }; }
  },
} });`;

const liveRows = (h: Harness = H) => h.db.sqlite.query("SELECT count(*) AS n FROM kv").get() as { n: number };

function scratch(ref: BundleRef, namespace: string): BundleRef {
  return { ...ref, agentId: namespace, bundleId: namespace, config: { ...ref.config, allowedHosts: ["api.up.example"], secrets: [{ name: "UP_KEY", hosts: ["api.up.example"] }], scratch: { namespace } } };
}

for (const [engineName, engine] of engines)
describe(`scratch worlds (${engineName})`, () => {
  let H: Harness;
  beforeAll(() => {
    H = makeHarness(engine);
  });
  afterAll(async () => {
    await H.close();
  });

  test("kv goes to the world, never the agent's table; a discarded world leaves nothing", async () => {
    const live = H.ref("scr", await bundle(GUEST));
    const ref = scratch(live, "scratch_a");
    const w = H.runtime.openScratch("scratch_a");
    expect((await H.runtime.fetch(ref, req("POST", "/put", { a: 1 }))).status).toBe(200);
    expect(json(await H.runtime.fetch(ref, req("GET", "/get")))).toEqual({ v: { a: 1 }, keys: ["k"] });
    expect(liveRows(H).n).toBe(0);
    expect(json(await H.runtime.fetch(live, req("GET", "/get")))).toEqual({ v: null, keys: [] });
    w.discard();
    H.runtime.openScratch("scratch_a");
    expect(json(await H.runtime.fetch(ref, req("GET", "/get")))).toEqual({ v: null, keys: [] });
    H.runtime.evict("scratch_a");
  });

  test("a config naming a world that is not open fails the kv call instead of touching live data", async () => {
    const ref = scratch(H.ref("scr2", await bundle(GUEST)), "scratch_closed");
    const res = await H.runtime.fetch(ref, req("POST", "/put", { a: 1 }));
    expect(res.status).toBe(500);
    expect(JSON.stringify(json(res))).toContain("scratch world scratch_closed is not open");
    expect(liveRows(H).n).toBe(0);
    H.runtime.evict("scratch_closed");
  });

  test("fixtures answer by method, host, path, query subset and headers; misses are recorded with what was asked", async () => {
    const ref = scratch(H.ref("scr3", await bundle(GUEST)), "scratch_b");
    const w = H.runtime.openScratch("scratch_b");
    const fixture = { host: "api.up.example", request: { method: "GET", path: "/v1/x?a=1", headers: { Authorization: "Bearer {{secret:UP_KEY}}" } }, response: { status: 200, body: { hi: 1 } } };
    w.useFixtures([fixture]);
    expect(json(await H.runtime.fetch(ref, req("GET", "/up")))).toEqual({ status: 200, body: { hi: 1 } });
    expect(w.takeEvents()).toEqual([{ method: "GET", url: "https://api.up.example/v1/x?b=2&a=1", fixture: 0, status: 200 }]);
    w.useFixtures([{ ...fixture, request: { ...fixture.request, headers: { authorization: "Bearer other" } } }]);
    const miss = json(await H.runtime.fetch(ref, req("GET", "/up")));
    expect(miss.error).toContain("no fixture matched GET https://api.up.example/v1/x?b=2&a=1");
    const [ev] = w.takeEvents();
    expect(ev!.problem).toContain("with headers authorization: Bearer {{secret:UP_KEY}}");
    expect(ev!.problem).toContain("fixtures for this example: GET https://api.up.example/v1/x?a=1 with authorization: Bearer other");
    w.discard();
    H.runtime.evict("scratch_b");
  });

  test("a secret the spec does not declare for that host is the environment's refusal, named", async () => {
    const base = H.ref("scr4", await bundle(GUEST));
    const ref: BundleRef = { ...scratch(base, "scratch_c"), config: { ...scratch(base, "scratch_c").config, secrets: [{ name: "UP_KEY", hosts: ["other.example"] }] } };
    const w = H.runtime.openScratch("scratch_c");
    const r = json(await H.runtime.fetch(ref, req("GET", "/up")));
    expect(r.error).toContain("secret UP_KEY is declared for other.example, not for https://api.up.example:443");
    expect(w.takeEvents()[0]!.problem).toBe("secret UP_KEY is declared for other.example, not for https://api.up.example:443");
    w.discard();
    H.runtime.evict("scratch_c");
  });
});

test("a world's kv keeps the agent's limits, and a discarded world is gone from the registry", () => {
  const worlds = new ScratchWorlds();
  const w = worlds.open("scratch_limits");
  const limits = { kvValueBytes: 100, kvTotalBytes: 200 }; // size = JSON text + key
  w.kv.set("x", "a", "a".repeat(50), limits);
  w.kv.set("x", "b", "b".repeat(50), limits);
  expect(() => w.kv.set("x", "c", "c".repeat(200), limits)).toThrow("over the limit of 100 bytes");
  w.kv.set("x", "c", "c".repeat(60), limits);
  expect(() => w.kv.set("x", "d", "d".repeat(60), limits)).toThrow("over this agent's limit of 200 bytes");
  expect(w.kv.list("x", { prefix: "", limit: 2 })).toEqual({ keys: ["a", "b"], cursor: "b" });
  expect(worlds.count()).toBe(1);
  w.discard();
  expect(worlds.count()).toBe(0);
  expect(worlds.get("scratch_limits")).toBeUndefined();
});

test("specs stored before the rename keep their assertions in expect.properties, still read", () => {
  const a = [{ path: "x", equals: 1 }];
  expect(assertionsOf({ expect: { status: 200, properties: a } as never })).toEqual(a);
  expect(assertionsOf({ expect: { status: 200, assertions: a } })).toEqual(a);
  expect(assertionsOf({ expect: { status: 204 } })).toEqual([]);
});

describe("example templates", () => {
  const responses = new Map([["create", { status: 201, body: { id: "t1", n: 3, tags: ["a"] } }]]);
  test("a whole-string reference keeps the JSON type; an embedded one splices text", () => {
    expect(resolveTemplates<unknown>({ path: "/todos/{{examples.create.body.id}}", n: "{{examples.create.body.n}}", s: "{{examples.create.status}}", all: "{{ examples.create.body }}" }, responses)).toEqual({
      path: "/todos/t1",
      n: 3,
      s: 201,
      all: { id: "t1", n: 3, tags: ["a"] },
    });
  });
  test("a reference to a later example or a missing path names the problem", () => {
    expect(() => resolveTemplates("{{examples.later.body.id}}", responses)).toThrow(TemplateError);
    expect(() => resolveTemplates("{{examples.create.body.nope}}", responses)).toThrow("the response of create has no nope");
  });
});

test("the code prompt's worked example compiles and answers 201, 200 and 204 as it teaches", async () => {
  const ref = H.ref("worked", await bundle(exampleMd as unknown as string));
  const created = await H.runtime.fetch(ref, req("POST", "/projects/p/tasks", { title: "x" }));
  expect(created.status).toBe(201);
  const id = json(created).id;
  expect(json(await H.runtime.fetch(ref, req("GET", "/projects/p/summary")))).toEqual({ open: 1, done: 0 });
  expect((await H.runtime.fetch(ref, req("DELETE", `/projects/p/tasks/${id}`))).status).toBe(204);
  const gone = await H.runtime.fetch(ref, req("DELETE", `/projects/p/tasks/${id}`));
  expect([gone.status, json(gone).error.message]).toEqual([404, "no such task"]);
});
