/**
 * The host halves of the guest's Web APIs, given bad or hostile data directly: each answers
 * with a clear error for that request and keeps its state bounded.
 */
import { expect, test } from "bun:test";
import { parseHostCall } from "../../src/runtime/host-calls";
import { TextDecoders } from "../../src/runtime/web-bridge";
import { IntlBridge } from "../../src/runtime/web-intl";
import { subtleCall } from "../../src/runtime/web-crypto";
import { defaultLimits } from "../../src/runtime";

test("web.subtle arguments are typed at the one host-call parser", () => {
  const parse = (args: unknown) => parseHostCall("web.subtle", JSON.stringify(args), undefined, defaultLimits);
  expect(parse({ method: "digest", args: ["SHA-256", { $bin: [0, 0] }] })).toMatchObject({ op: "web.subtle", method: "digest" });
  expect(() => parse({ method: 5, args: [] })).toThrow(/method must be a short string/);
  expect(() => parse({ method: "digest", args: "x" })).toThrow(/args must be an array/);
  expect(() => parse({ method: "digest", args: new Array(9).fill(0) })).toThrow(/at most 8 items/);
});

test("subtleCall: host errors come back as {error: {name, message}}; bad references and costly parameters are refused", async () => {
  const bad = JSON.parse((await subtleCall("digest", ["SHA-7", { $bin: [0, 0] }], new Uint8Array(0))).json);
  expect(bad.error.name).toBe("NotSupportedError");
  const oob = JSON.parse((await subtleCall("digest", ["SHA-256", { $bin: [0, 10] }], new Uint8Array(2))).json);
  expect(oob.error).toEqual({ name: "TypeError", message: "crypto.subtle: bad binary reference" });
  const huge = JSON.parse((await subtleCall("generateKey", [{ name: "RSA-PSS", modulusLength: 16384, publicExponent: { $bin: [0, 3] }, hash: "SHA-256" }, false, ["sign"]], new Uint8Array([1, 0, 1]))).json);
  expect(huge.error.name).toBe("NotSupportedError");
  const unknown = JSON.parse((await subtleCall("mineBitcoin", [], new Uint8Array(0))).json);
  expect(unknown.error.message).toMatch(/unknown method/);
  const ok = await subtleCall("digest", ["SHA-256", { $bin: [0, 3] }], new TextEncoder().encode("abc"));
  expect(Buffer.from(ok.bytes!).toString("hex")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("TextDecoders: unknown labels are null, fatal errors null, streams bounded to 64", () => {
  const d = new TextDecoders();
  expect(d.decode(0, "no-such", 0, undefined)).toBeNull();
  expect(d.decode(0, "utf-8", 1, new Uint8Array([0xff]))).toBeNull();
  for (let id = 1; id <= 65; id++) expect(d.decode(id, "utf-8", 4, new Uint8Array([0xe2]))).toBe("");
  // Stream 1 was forgotten (the oldest, past 64): its pending byte is gone; stream 65 kept its own.
  expect(d.decode(1, "utf-8", 0, new Uint8Array([0x82, 0xac]))).toBe("\uFFFD\uFFFD");
  expect(d.decode(65, "utf-8", 0, new Uint8Array([0x82, 0xac]))).toBe("€");
  expect((d as unknown as { streams: Map<number, unknown> }).streams.size).toBe(63);
});

test("IntlBridge: bad requests answer errors; unknown methods refused; the formatter cache is bounded", () => {
  const b = new IntlBridge();
  const ask = (r: unknown) => JSON.parse(b.call(typeof r === "string" ? r : JSON.stringify(r)));
  expect(ask("not json").error.name).toBe("SyntaxError");
  expect(ask({ kind: "Segmenter", method: "format" }).error.message).toMatch(/unknown constructor/);
  expect(ask({ kind: "NumberFormat", locales: "en-US", method: "constructor" }).error.message).toMatch(/unknown method/);
  expect(ask({ kind: "NumberFormat", locales: "en-US", options: { style: "currency" }, method: "format", args: [1] }).error.name).toBe("TypeError");
  expect(ask({ kind: "NumberFormat", locales: "en-US", method: "format", args: [{ $num: "-Infinity" }] }).result).toBe("-∞");
  for (let i = 0; i < 100; i++) ask({ kind: "NumberFormat", locales: "en-US", options: { minimumFractionDigits: i % 21 }, method: "format", args: [i] });
  for (let i = 0; i < 100; i++) ask({ kind: "DateTimeFormat", locales: "en-US", options: { timeZone: "UTC", hour: "numeric", minute: i % 2 ? "2-digit" : "numeric", second: String(i) === "x" ? undefined : "numeric", fractionalSecondDigits: (i % 3) + 1 }, method: "format", args: [{ $date: i }] });
  expect((b as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(64);
  expect(ask({ kind: "NumberFormat", locales: "en-US", method: "format", args: ["x".repeat(300_000)] }).error.message).toMatch(/too large/);
});
