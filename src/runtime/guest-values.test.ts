import { describe, expect, test } from "bun:test";
import { acceptDescription, acceptLogs, acceptResponse, acceptScheduled, RESPONSE_RULES } from "./guest-values";
import { failureLogs } from "./failures";
import { defaultLimits } from "./types";

const body = new Uint8Array([123, 125]);
const raw = (meta: unknown, extra: Record<string, unknown> = {}) => ({ meta: typeof meta === "string" ? meta : JSON.stringify(meta), body, logs: [], cpuMs: 1, wallMs: 2, ...extra });
const problem = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    const err = e as { code: string; details: { reason: string }; message: string };
    return `${err.code}/${err.details.reason}: ${err.message}`;
  }
  return "accepted";
};

describe("acceptResponse", () => {
  test("status: integers 200–599 only", () => {
    for (const s of [200, 204, 599]) expect(acceptResponse(raw({ status: s, headers: [] }), defaultLimits).status).toBe(s);
    for (const s of [199, 600, 101, 200.5, "200", null, -1]) expect(problem(() => acceptResponse(raw({ status: s, headers: [] }), defaultLimits))).toMatch(/^bad_response\/bad_response: .*status .* is not an integer in 200–599/);
  });

  test("headers: RFC 9110 tokens and Latin-1 values; tab and obs-text allowed, DEL and controls not", () => {
    const ok = acceptResponse(raw({ status: 200, headers: [["X-A", " a\tb "], ["x-b", "caf\u00e9"]] }), defaultLimits);
    expect(ok.headers).toEqual([["X-A", "a\tb"], ["x-b", "caf\u00e9"]]);
    for (const [h, why] of [
      [[["x a", "v"]], /not an HTTP token/],
      [[["", "v"]], /not an HTTP token/],
      [[["x", "a\x7f"]], /control character/],
      [[["x", "a\x01"]], /control character/],
      [[["x", "\u0100"]], /outside Latin-1/],
      [[["x"]], /not a \[name, value\] pair/],
      [[["x", "v", "w"]], /not a \[name, value\] pair/],
      [{ x: "v" }, /not a list/],
    ] as const) expect(problem(() => acceptResponse(raw({ status: 200, headers: h }), defaultLimits))).toMatch(why);
    const many = Array.from({ length: RESPONSE_RULES.maxHeaders + 1 }, (_, i) => [`x-${i}`, "v"]);
    expect(problem(() => acceptResponse(raw({ status: 200, headers: many }), defaultLimits))).toMatch(/257 headers \(limit 256\)/);
  });

  test("the same metadata text again: the same answer, with header pairs of its own; other texts and problems are checked anew", () => {
    const text = JSON.stringify({ status: 201, headers: [["content-type", " application/json "]] });
    const first = acceptResponse(raw(text), defaultLimits);
    first.headers[0]![1] = "changed";
    first.headers.push(["x-added", "1"]);
    const again = acceptResponse(raw(text), defaultLimits);
    expect([again.status, again.headers]).toEqual([201, [["content-type", "application/json"]]]);
    expect(again.headers).not.toBe(first.headers);
    // A problem the engine saw, or a body over the limit, fails even with a text accepted before.
    expect(problem(() => acceptResponse(raw(text, { problem: "the body is not bytes or text" }), defaultLimits))).toMatch(/not bytes or text/);
    expect(problem(() => acceptResponse(raw(text), { ...defaultLimits, responseBytes: 1 }))).toMatch(/exceeds the limit/);
    // A different text is parsed and checked; a bad one is not remembered in place of the good one.
    expect(problem(() => acceptResponse(raw({ status: 700, headers: [] }), defaultLimits))).toMatch(/status 700/);
    expect(acceptResponse(raw(text), defaultLimits).status).toBe(201);
    expect(problem(() => acceptResponse(raw({ status: 700, headers: [] }), defaultLimits))).toMatch(/status 700/);
  });

  test("metadata: JSON object of bounded size; the prelude's `bad` and engine problems are reported", () => {
    expect(problem(() => acceptResponse(raw("x".repeat(20)), defaultLimits))).toMatch(/not JSON \(starts "xxxx/);
    expect(problem(() => acceptResponse({ ...raw({}), meta: null }, defaultLimits))).toMatch(/was not text/);
    expect(problem(() => acceptResponse(raw("[".repeat(50) + "]".repeat(50)), defaultLimits))).toMatch(/nests too deeply/);
    expect(problem(() => acceptResponse(raw(" ".repeat(RESPONSE_RULES.maxMetaChars + 1)), defaultLimits))).toMatch(/characters long/);
    expect(problem(() => acceptResponse(raw({ bad: "the fetch handler returned null, not a Response" }), defaultLimits))).toMatch(/returned null, not a Response/);
    expect(problem(() => acceptResponse(raw({ status: 200, headers: [] }, { problem: "the body is not bytes or text" }), defaultLimits))).toMatch(/the body is not bytes or text/);
    expect(problem(() => acceptResponse(raw({ status: 200, headers: [] }, { body: new Uint8Array(11) }), { ...defaultLimits, responseBytes: 10 }))).toMatch(/\(11 bytes\) exceeds the limit of 10 bytes/);
  });

  test("guest values are quoted short and escaped; the call's logs ride on the failure, not in details", () => {
    const msg = problem(() => acceptResponse(raw({ status: 200, headers: [["x\r\n" + "y".repeat(100), "v"]] }), defaultLimits));
    expect(msg).toContain('"x\\r\\nyyy');
    expect(msg.length).toBeLessThan(200);
    try {
      acceptResponse(raw({ status: NaN }, { logs: [{ level: "log", message: "hello", at: 1 }] }), defaultLimits);
    } catch (e) {
      expect((e as { details: unknown }).details).toEqual({ reason: "bad_response" });
      expect(failureLogs(e)).toEqual([{ level: "log", message: "hello", at: 1 }]);
    }
  });
});

test("acceptLogs normalises levels, messages, timestamps and the count", () => {
  const out = acceptLogs([{ level: "shout", message: 5, at: NaN }, null, { level: "warn", message: "x".repeat(20000), at: 3 }, { level: "info", message: "drop", at: 4 }], { logLines: 2 });
  expect(out.length).toBe(3);
  expect(out[0]).toMatchObject({ level: "log", message: "[a log line that is not text]" });
  expect(Number.isFinite(out[0]!.at)).toBe(true);
  expect(out[2]!.message.endsWith("… [truncated]")).toBe(true);
  expect(acceptLogs("nope", { logLines: 5 })).toEqual([]);
});

test("acceptScheduled: only ok === true is success; errors are text, capped", () => {
  expect(acceptScheduled({ ok: true, logs: [], cpuMs: 1, wallMs: 1 }, defaultLimits)).toEqual({ ok: true, logs: [], cpuMs: 1, wallMs: 1 });
  expect(acceptScheduled({ ok: "yes", logs: [], cpuMs: NaN, wallMs: -1 }, defaultLimits)).toEqual({ ok: false, error: "the scheduled handler's result was malformed", logs: [], cpuMs: 0, wallMs: 0 });
  expect(acceptScheduled({ ok: false, error: "e".repeat(100_000), logs: [], cpuMs: 1, wallMs: 1 }, defaultLimits).error!.length).toBeLessThan(8300);
});

test("acceptDescription keeps only the documented fields", () => {
  const d = acceptDescription(JSON.stringify({ routes: [{ method: "GET", path: "/a", summary: "s", extra: "dropped", input: { type: "object" } }], scheduled: 1 }));
  expect(d).toEqual({ routes: [{ method: "GET", path: "/a", summary: "s", input: { type: "object" } }], scheduled: false });
  expect(problem(() => acceptDescription(null))).toMatch(/^endpoint_unreachable\/load_failed: .*it is not text/);
});
