import { expect, test } from "bun:test";
import { parseHostCall, timerDelay } from "./host-calls";

const limits = { kvValueBytes: 1024 };
const err = (fn: () => unknown) => {
  try {
    fn();
    return "accepted";
  } catch (e) {
    return (e as Error).message;
  }
};

test("kv calls become typed values; bad keys and options are refused", () => {
  expect(parseHostCall("kv.get", '{"key":"a"}', undefined, limits)).toEqual({ op: "kv.get", key: "a" });
  expect(parseHostCall("kv.set", '{"key":"a","value":[1]}', undefined, limits)).toEqual({ op: "kv.set", key: "a", value: [1] });
  expect(parseHostCall("kv.list", '{"limit":"5000","prefix":"p"}', undefined, limits)).toEqual({ op: "kv.list", prefix: "p", limit: 1000, cursor: undefined });
  expect(parseHostCall("kv.list", "", undefined, limits)).toEqual({ op: "kv.list", prefix: undefined, limit: 100, cursor: undefined });
  expect(err(() => parseHostCall("kv.get", '{"key":""}', undefined, limits))).toMatch(/non-empty string/);
  expect(err(() => parseHostCall("kv.get", '{"key":"' + "k".repeat(513) + '"}', undefined, limits))).toMatch(/at most 512/);
  expect(err(() => parseHostCall("kv.set", '{"key":"a"}', undefined, limits))).toMatch(/JSON-serializable/);
  expect(err(() => parseHostCall("kv.list", '{"prefix":[1]}', undefined, limits))).toMatch(/prefix must be a string/);
  expect(err(() => parseHostCall("kv.get", "{nope", undefined, limits))).toMatch(/not JSON/);
  expect(err(() => parseHostCall("kv.get", 5, undefined, limits))).toMatch(/not text/);
  expect(err(() => parseHostCall("kv.set", '{"key":"a","value":' + "[".repeat(300) + "]".repeat(300) + "}", undefined, limits))).toMatch(/deeper than 256/);
  expect(err(() => parseHostCall("kv.set", "x".repeat(1024 + 128 * 1024 + 1), undefined, limits))).toMatch(/characters long/);
  expect(err(() => parseHostCall("process.exit", "{}", undefined, limits))).toMatch(/unknown host operation/);
});

test("fetch: URL, method and headers are checked before the egress policy sees them", () => {
  const ok = parseHostCall("fetch", JSON.stringify({ url: "https://a.example/", method: "POST", headers: [["x-a", "{{secret:K}}"]] }), new Uint8Array([1]), limits);
  expect(ok).toEqual({ op: "fetch", request: { url: "https://a.example/", method: "POST", headers: [["x-a", "{{secret:K}}"]] }, body: new Uint8Array([1]) });
  const f = (a: unknown, b?: unknown) => err(() => parseHostCall("fetch", JSON.stringify(a), b, limits));
  expect(f({ url: 5 })).toMatch(/URL must be a string/);
  expect(f({ url: "http://a/", method: "GE T" })).toMatch(/method is not an HTTP token/);
  expect(f({ url: "http://a/", headers: [["x", "a\r\nb: c"]] })).toMatch(/CR, LF/);
  expect(f({ url: "http://a/", headers: [["x y", "v"]] })).toMatch(/not an HTTP token/);
  expect(f({ url: "http://a/", headers: { x: "v" } })).toMatch(/list of at most 256/);
  expect(f({ url: "http://a/" }, "not bytes")).toMatch(/body is not bytes/);
});

test("timer delays are whole, non-negative and never clamped", () => {
  expect([timerDelay(5), timerDelay(0.2), timerDelay(-3), timerDelay(NaN), timerDelay("5"), timerDelay(500_000), timerDelay(Infinity)]).toEqual([5, 1, 0, 0, 0, 500_000, Infinity]);
});
