/**
 * The request metadata text the prelude's dispatch reads (protocol.ts requestMeta): the flat
 * form the QuickJS engine sends, the JSON form it falls back to (and the V8 engine sends),
 * and that a guest sees the same request from either, on the lean and the full path.
 */
import { describe, expect, test } from "bun:test";
import { metaAsksStream, requestMeta } from "./protocol";
import { wasmPath } from "./wasm-build";
import { QjsInstance } from "./instance";
import { SparePool, setWasmModule } from "./vm-factory";
import { defaultLimits } from "..";

const HEADERS: [string, string][] = [["content-type", "application/json"], ["x-request-id", "req_1"], ["x-empty", ""], ["x-odd", " a, b \u00e9 {\"q\":1} "]];

describe("request metadata", () => {
  test("flat when no part holds a newline; the stream flag reads back from either form", () => {
    const flat = requestMeta("POST", "http://a.cantrip.internal/x?y=1", HEADERS, 7, false);
    expect(flat.charCodeAt(0)).toBe(1);
    expect(flat.split("\n")).toEqual(["\u0001POST", "http://a.cantrip.internal/x?y=1", "7", ...HEADERS.flat()]);
    expect(metaAsksStream(flat)).toBe(false);
    expect(metaAsksStream(requestMeta("GET", "http://a.cantrip.internal/", [], 8, true))).toBe(true);
  });

  test("a newline anywhere takes the JSON form, exactly the former text", () => {
    const cases: [string, string, [string, string][]][] = [
      ["POST", "http://a.cantrip.internal/x?y=\n", HEADERS],
      ["POST", "http://a.cantrip.internal/", [["k", "v\nw"]]],
      ["POST", "http://a.cantrip.internal/", [["k\n", "v"]]],
    ];
    for (const [method, url, headers] of cases) {
      expect(requestMeta(method, url, headers, 9, false)).toBe(JSON.stringify({ method, url, headers, call: 9 }));
      const streamed = requestMeta(method, url, headers, 9, true);
      expect(JSON.parse(streamed)).toEqual({ method, url, headers, call: 9, stream: true });
      expect(metaAsksStream(streamed)).toBe(true);
    }
  });
});

describe("the guest reads both forms alike", () => {
  setWasmModule(new WebAssembly.Module(require("node:fs").readFileSync(wasmPath)));
  const spares = new SparePool(0, defaultLimits.memoryBytes);
  const config = { agentId: "meta-test", env: {}, secrets: [] };
  const bridge = async () => ({ json: "null" });
  const SOURCES = {
    // The full path: a plain fetch handler gets the Request the prelude builds.
    full: `export default { fetch: async (req) => Response.json({ method: req.method, url: req.url, headers: [...req.headers], body: await req.text() }) };`,
    // The lean path: an SDK route, reading the request through ctx.
    lean: `import { defineBackend } from "cantrip";
      export default defineBackend({ routes: { "POST /x": async (input, ctx) => ({ method: ctx.request.method, url: ctx.request.url, headers: [...ctx.request.headers], input, query: ctx.query }) } });`,
  };

  for (const [kind, code] of Object.entries(SOURCES)) {
    test(`${kind} path`, async () => {
      const { instance } = await QjsInstance.load(spares, 1, `${kind}.js`, code, defaultLimits, config, bridge, () => {});
      const url = "http://a.cantrip.internal/x?y=1&y=2";
      const flat = requestMeta("POST", url, HEADERS, 2, false);
      const json = JSON.stringify({ method: "POST", url, headers: HEADERS, call: 3 });
      expect(flat.charCodeAt(0)).toBe(1);
      const a = await instance.fetch(2, flat, '{"n":1}');
      const b = await instance.fetch(3, json, '{"n":1}');
      expect(a.res.meta).toBe(b.res.meta);
      expect(a.res.body).toEqual(b.res.body);
      const seen = JSON.parse(a.res.body as string);
      expect(seen.method).toBe("POST");
      expect(seen.url).toBe(url);
      expect(seen.headers).toEqual(expect.arrayContaining([["x-request-id", "req_1"], ["x-empty", ""]]));
    });
  }
});
