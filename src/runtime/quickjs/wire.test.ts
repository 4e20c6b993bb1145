import { describe, expect, test } from "bun:test";
import { bodyText, decodeFetch, decodeHostRequest, decodeHostResult, decodeRead, decodeResponse, encodeFetch, encodeHostRequest, encodeHostResult, encodeRead, encodeResponse, isHostRequest, isHostResult, isReadRecord, rawResponseOf } from "./wire";

describe("wire strings", () => {
  test("a request round-trips, whatever its metadata and text contain", () => {
    const meta = JSON.stringify({ method: "POST", url: "http://a.cantrip.internal/x?y=\n", headers: [["k", "v \u2028"]], call: 7 });
    for (const text of ["", "plain", "line\nbreak 12 34\n", "\uFEFF𝄞\u0000", "\ud800 lone"]) {
      for (const bridgedReads of [false, true]) expect(decodeFetch(encodeFetch({ id: 123456789, inst: 42, meta, text, bridgedReads }))).toEqual({ id: 123456789, inst: 42, meta, text, bridgedReads });
    }
  });

  test("a read record round-trips, whatever its arguments and JSON contain, and is told apart from a response", () => {
    for (const args of ["", '{"key":"k 1\n2"}', "\ud800 \n"]) {
      for (const json of ["", "null", '"a\nb 3 4\n"', "\uFEFF𝄞"]) {
        const m = { inst: 42, call: 123456789, op: "kv.get", args, json };
        const s = encodeRead(m);
        expect(isReadRecord(s)).toBe(true);
        expect(decodeRead(s)).toEqual({ t: "host-read", ...m });
      }
    }
    const reply = encodeResponse({ id: 1, memoryBytes: 0, dropped: false, cpuMs: 0, wallMs: 0, meta: null, logs: [], text: "K" });
    expect(isReadRecord(reply)).toBe(false);
  });

  test("a host request round-trips with the read records before it, whatever its texts contain, and is told apart from the rest", () => {
    const records = [encodeRead({ inst: 4, call: 5, op: "kv.get", args: '{"key":"a\n"}', json: '"x 1 2"' }), encodeRead({ inst: 4, call: 5, op: "kv.get", args: "\ud800", json: "" })];
    for (const args of ["", '{"key":"k 1\n2","value":[1]}', "\ud800 \n\u0000", "\uFEFF𝄞"]) {
      for (const reads of [[], records.slice(0, 1), records]) {
        const m = { hid: 987654321, inst: 42, call: 123456789, op: "kv.set", args, reads };
        const s = encodeHostRequest(m);
        expect(isHostRequest(s)).toBe(true);
        expect(isReadRecord(s) || isHostResult(s)).toBe(false);
        expect(decodeHostRequest(s)).toEqual(m);
      }
    }
    for (const other of [records[0]!, encodeResponse({ id: 1, memoryBytes: 0, dropped: false, cpuMs: 0, wallMs: 0, meta: null, logs: [], text: "H" })]) expect(isHostRequest(other)).toBe(false);
  });

  test("a host request's answer round-trips (a result's JSON or a failure's message) and is told apart from a fetch", () => {
    for (const text of ["", "null", '{"a":"b\n 1"}', "kv: storing k would use 2000 bytes\n", "\ud800 \u0000"]) {
      for (const ok of [true, false]) {
        const s = encodeHostResult(123456789, ok, text);
        expect(isHostResult(s)).toBe(true);
        expect(decodeHostResult(s)).toEqual({ hid: 123456789, ok, text });
      }
    }
    expect(isHostResult(encodeFetch({ id: 1, inst: 2, meta: "h", text: "h" }))).toBe(false);
  });

  test("a response round-trips: null or present metadata, problem, console lines, timings, text", () => {
    const base = { id: 9, memoryBytes: 1_048_576, dropped: true, cpuMs: 0.123456789, wallMs: 1e-7, meta: '{"status":200,"headers":[]}', logs: [], text: "" };
    const cases = [
      base,
      { ...base, dropped: false, meta: null, problem: "the body is a number, not bytes or text" },
      { ...base, meta: "", logs: [{ level: "warn" as const, message: "a\nb \ud800", at: 1700000000000 }], text: "é\n{}" },
    ];
    for (const c of cases) expect(decodeResponse(encodeResponse(c))).toEqual(c);
  });

  test("non-finite timings stay non-finite (the host's check turns them into 0)", () => {
    const r = decodeResponse(encodeResponse({ id: 1, memoryBytes: 0, dropped: false, cpuMs: NaN, wallMs: Infinity, meta: null, logs: [], text: "" }));
    expect([r.cpuMs, r.wallMs]).toEqual([NaN, Infinity]);
  });

  test("bodyText: text when UTF-8, empty for none, null for other bytes", () => {
    expect(bodyText(null)).toBe("");
    expect(bodyText(new Uint8Array(0))).toBe("");
    expect(bodyText(new TextEncoder().encode("\uFEFFé"))).toBe("\uFEFFé");
    expect(bodyText(new Uint8Array([0xff, 0x41]))).toBeNull();
  });

  test("rawResponseOf encodes the text as UTF-8 bytes", () => {
    const raw = rawResponseOf({ id: 1, memoryBytes: 0, dropped: false, cpuMs: 1, wallMs: 2, meta: "{}", logs: [], text: "é" });
    expect([...raw.body]).toEqual([0xc3, 0xa9]);
    expect(raw.problem).toBeUndefined();
  });
});
