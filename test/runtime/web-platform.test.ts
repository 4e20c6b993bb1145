/**
 * The guest's Web APIs on every engine, where WPT cannot reach (it runs on QuickJS only and
 * has no egress): the globals list, crypto.subtle HMAC/digest against Bun's own output (a
 * webhook signature check), TextDecoder labels and streams through the host bridge,
 * AbortSignal.timeout aborting an outbound fetch, setInterval ended with the call,
 * Headers/Response/FormData/structuredClone behaviour the issue names.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { probeV8, quickjsEngine, v8Engine, type EngineFactory } from "../../src/runtime";
import { bundle, json, makeHarness, req, type Harness } from "./harness";
import { EVAL } from "./contract/fixtures";
import { ALLOWED, egressOptions } from "./contract/egress";

/** Exactly the globals the guest offers beyond ECMAScript (README, cantrip.d.ts and the code prompt list the same). */
export const WEB_GLOBALS = [
  "AbortController", "AbortSignal", "Blob", "ByteLengthQueuingStrategy", "CountQueuingStrategy", "CryptoKey", "DOMException", "Event",
  "EventTarget", "File", "FormData", "Headers", "ReadableStream", "Request", "Response", "TextDecoder", "TextEncoder", "TransformStream",
  "URL", "URLSearchParams", "WritableStream", "atob", "btoa", "clearInterval", "clearTimeout", "console", "crypto", "fetch", "performance",
  "queueMicrotask", "setInterval", "setTimeout", "structuredClone",
];

/** The names listed after `marker` up to the next period in `file` (README, cantrip.d.ts, the code prompt). */
function listedIn(file: string, marker: string): string[] {
  const text = readFileSync(join(import.meta.dir, "../..", file), "utf8");
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file}: no "${marker}"`);
  const end = [text.indexOf(". ", at), text.indexOf(".\n", at)].filter((i) => i >= 0);
  const list = text.slice(at + marker.length, Math.min(...end));
  return list.replace(/\s*\*\s*/g, " ").split(",").map((x) => x.trim().split(/[\s(]/)[0]!).filter(Boolean).sort();
}

test("README, cantrip.d.ts and the code prompt list exactly the guest's Web globals", () => {
  const want = [...WEB_GLOBALS].sort();
  expect(listedIn("README.md", "Web globals:")).toEqual(want);
  expect(listedIn("sandbox/sdk/cantrip.d.ts", "Web globals:")).toEqual(want);
  expect(listedIn("src/generate/prompts/code.md", "Web globals available (standard behaviour):")).toEqual(want);
});

function webTests(name: string, engine: EngineFactory) {
  describe(`Web platform in the guest: ${name}`, () => {
    let H: Harness;
    let server: ReturnType<typeof Bun.serve>;
    let base = "";
    beforeAll(() => {
      H = makeHarness(engine, egressOptions);
      server = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        fetch: (r) => (new URL(r.url).pathname === "/slow" ? new Promise((res) => setTimeout(() => res(new Response("late")), 1500)) : new Response("ok")),
      });
      base = `http://${ALLOWED}:${server.port}`;
    });
    afterAll(async () => {
      server.stop(true);
      await H.close();
    });
    const run = async (code: string, opts: Parameters<Harness["ref"]>[2] = {}) =>
      json(await H.runtime.fetch(H.ref("web", await bundle(EVAL), { bundleId: `web-${name}`, allowedHosts: [ALLOWED], ...opts }), req("POST", "/eval", { code }))).result;

    test("the global scope offers exactly the documented Web globals", async () => {
      const names = await run(`return ${JSON.stringify(WEB_GLOBALS)}.filter((k) => typeof globalThis[k] === "undefined");`);
      expect(names).toEqual([]);
      const extra = await run(`return ["process", "Bun", "require", "__cantripHost", "XMLHttpRequest", "WebSocket"].filter((k) => typeof globalThis[k] !== "undefined");`);
      expect(extra).toEqual([]);
    });

    test("URL and URLSearchParams load on first use on V8 (and up front on QuickJS); routing, ctx.searchParams and URLSearchParams bodies work either way", async () => {
      const code = `import { defineBackend } from "cantrip";
const d = () => Object.getOwnPropertyDescriptor(globalThis, "URL");
export default defineBackend({ routes: {
  "GET /q": (input, ctx) => {
    const lazyBefore = typeof d().get === "function";
    const body = new Response(new URLSearchParams({ a: "1 2" }));
    const lazyAfterBody = typeof d().get === "function"; // reading URLSearchParams loads the library but leaves the URL global's getter
    const q = ctx.searchParams.getAll("t");
    const u = new URL("http://h/p?x=1");
    return { lazyBefore, lazyAfterBody, q, x: u.searchParams.get("x"), same: u instanceof URL && u.searchParams instanceof URLSearchParams, name: URL.name, lazyAfter: typeof d().get === "function", type: body.headers.get("content-type") };
  },
} });`;
      const r = json(await H.runtime.fetch(H.ref("lazy-url", await bundle(code), { bundleId: `lazy-url-${name}` }), req("GET", "/q?t=1&t=2")));
      const lazy = name === "v8";
      expect(r).toEqual({ lazyBefore: lazy, lazyAfterBody: lazy, q: ["1", "2"], x: "1", same: true, name: "URL", lazyAfter: false, type: "application/x-www-form-urlencoded;charset=UTF-8" });
    });

    test("crypto.subtle: SHA-256 digest and an HMAC webhook signature match Bun's; ES256 verifies in Bun; host CPU bounded", async () => {
      const secret = "whsec_test", payload = '{"id":"evt_1","amount":1200}';
      const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const want = Buffer.from(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(payload))).toString("hex");
      const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(payload))).toString("hex");
      const r = await run(`
        const enc = new TextEncoder();
        const key = await crypto.subtle.importKey("raw", enc.encode(${JSON.stringify(secret)}), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
        const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(${JSON.stringify(payload)})));
        const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
        const ok = await crypto.subtle.verify("HMAC", key, sig, enc.encode(${JSON.stringify(payload)}));
        const bad = await crypto.subtle.verify("HMAC", key, sig.map((x, i) => i === 0 ? x ^ 1 : x), enc.encode(${JSON.stringify(payload)}));
        const d = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(${JSON.stringify(payload)}))));
        let rsa; try { await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 8192, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, false, ["sign"]); } catch (e) { rsa = e.name; }
        const rsaAlg = { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
        let rsaKeys = 0, rsaCap;
        try { for (let i = 0; i < 6; i++) { await crypto.subtle.generateKey(rsaAlg, false, ["sign"]); rsaKeys++; } } catch (e) { rsaCap = e.message; }
        const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
        let priv; try { await crypto.subtle.exportKey("jwk", pair.privateKey); } catch (e) { priv = e.name; }
        const es = { jwk: await crypto.subtle.exportKey("jwk", pair.publicKey), sig: hex(new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, enc.encode("header.payload")))), priv };
        return { es, rsaKeys, rsaCap, sig: hex(sig), ok, bad, d, rsa, exported: await crypto.subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0", alg: "HS256" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]).then((k) => crypto.subtle.exportKey("raw", k)).then((b) => new TextDecoder().decode(b)) };`);
      const { es, ...rest } = r;
      // 3 more RSA generations: the refused 8192-bit attempt counted too (attempts are what the cap bounds).
      expect(rest).toEqual({ rsaKeys: 3, rsaCap: "crypto.subtle: at most 4 RSA key generations per call", sig: want, ok: true, bad: false, d: digest, rsa: "NotSupportedError", exported: "secret" });
      // An ES256 signature made in the guest verifies in Bun with the exported public JWK; the private key stays unexportable.
      expect(es.priv).toBe("InvalidAccessError");
      const pub = await crypto.subtle.importKey("jwk", es.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      expect(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, Buffer.from(es.sig, "hex"), new TextEncoder().encode("header.payload"))).toBe(true);
    });

    test("TextDecoder: labels, fatal, ignoreBOM and stream through the host's decoder", async () => {
      const r = await run(`
        const latin = new TextDecoder("latin1");
        const s = new TextDecoder("utf-8");
        const parts = [s.decode(new Uint8Array([0xe2, 0x82]), { stream: true }), s.decode(new Uint8Array([0xac, 0x61]), { stream: true }), s.decode()];
        let fatal; try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { fatal = e.name; }
        let label; try { new TextDecoder("no-such-label"); } catch (e) { label = e.name; }
        return { latin: [latin.encoding, latin.decode(new Uint8Array([0xe9, 0x80]))], parts, fatal, label,
          bom: [new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))],
          utf16: new TextDecoder("utf-16le").decode(new Uint8Array([0x3d, 0xd8, 0x00, 0xde])),
          into: new TextEncoder().encodeInto("a€😀", new Uint8Array(5)) };`);
      expect(r).toEqual({ latin: ["windows-1252", "é€"], parts: ["", "€a", ""], fatal: "TypeError", label: "RangeError", bom: ["A", "\uFEFFA"], utf16: "😀", into: { read: 2, written: 4 } });
    });

    test("AbortSignal.timeout aborts an outbound fetch with a TimeoutError DOMException", async () => {
      const r = await run(`
        const t0 = Date.now();
        try { await fetch(${JSON.stringify(base)} + "/slow", { signal: AbortSignal.timeout(100) }); return "answered"; }
        catch (e) { return [e instanceof DOMException, e.name, e.code, e.message, Date.now() - t0 < 1000]; }`);
      // The server answers after 1.5 s; the guest got its TimeoutError at ~100 ms.
      expect(r).toEqual([true, "TimeoutError", 23, "The operation timed out.", true]);
      const pre = await run(`const c = new AbortController(); c.abort("why"); try { await fetch(${JSON.stringify(base)}, { signal: c.signal }); } catch (e) { return e; }`);
      expect(pre).toBe("why");
    });

    test("setInterval ticks until cleared; an uncleared interval ends with the call", async () => {
      const r = await run(`
        let n = 0;
        await new Promise((done) => { const id = setInterval(() => { if (++n === 3) { clearInterval(id); done(); } }, 5); });
        setInterval(() => {}, 10);
        return n;`);
      expect(r).toBe(3);
      // The leftover interval did not keep the instance busy: the next call runs at once.
      expect(await run("return performance.now() >= 0 && typeof performance.timeOrigin;")).toBe("number");
    });

    test("an incoming request's URL is the URL Standard's serialization (fast path or full parser)", async () => {
      const ref = H.ref("web-url", await bundle(`export default { fetch: (req) => Response.json([req.url, new URL(req.url).pathname, new URL(req.url).search]) };`), { bundleId: `web-url-${name}` });
      const urls = ["http://agent.cantrip.internal/items/7?verbose=true", "http://agent.cantrip.internal/a/../b/./c", "http://agent.cantrip.internal/%7e/x%2Fy?q=a b&r=\"", "http://agent.cantrip.internal/sp ace/ü?ü=1", "http://Agent.cantrip.internal:80/x", "http://agent.cantrip.internal/%2e%2E/x?", "http://agent.cantrip.internal/a?b=c#frag"];
      for (const u of urls) {
        const r = json(await H.runtime.fetch(ref, { method: "GET", url: u, headers: [], body: null }));
        const want = new URL(u);
        expect({ u, r }).toEqual({ u, r: [want.href, want.pathname, want.search] });
      }
    });

    test("Headers, Response, FormData, structuredClone, atob behave as the standards say", async () => {
      const r = await run(`
        const h = new Headers(new Map([["Set-Cookie", "a=1"], ["x-a", "1"]]));
        h.append("set-cookie", "b=2");
        let crlf; try { h.set("x-bad", "a\\r\\nb: c"); } catch (e) { crlf = e.name; }
        let status; try { new Response("", { status: 99 }); } catch (e) { status = e.name; }
        const res = new Response("a\\0b");
        const clone = res.clone();
        await res.text();
        const fd = new FormData(); fd.append("f", new Blob(["hi"], { type: "text/plain" }), "f.txt"); fd.append("t", "v");
        const back = await new Response(fd).formData();
        let bad; try { atob("abc=d"); } catch (e) { bad = [e.name, e instanceof DOMException]; }
        const m = new Map([[1, { d: new Date(0) }]]);
        const c = structuredClone(m, { transfer: [] });
        let fn; try { structuredClone(() => 1); } catch (e) { fn = e.name; }
        return { cookies: h.getSetCookie(), all: [...h], crlf, status, used: [res.bodyUsed, clone.bodyUsed], bytes: Array.from(await clone.bytes()),
          form: [back.get("t"), back.get("f").name, await back.get("f").text(), back.get("f") instanceof File],
          redirect: [Response.redirect("https://example.com/x", 301).headers.get("location"), Response.error().type],
          bad, clone: [c !== m, c.get(1).d instanceof Date], fn, usp: new URLSearchParams("q=100%+off").get("q"), url: URL.canParse("http://[::1]:80/") };`);
      expect(r).toEqual({
        cookies: ["a=1", "b=2"], all: [["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-a", "1"]], crlf: "TypeError", status: "RangeError", used: [true, false], bytes: [0x61, 0, 0x62],
        form: ["v", "f.txt", "hi", true], redirect: ["https://example.com/x", "error"], bad: ["InvalidCharacterError", true], clone: [true, true], fn: "DataCloneError", usp: "100% off", url: true,
      });
    });
  });
}

webTests("quickjs", quickjsEngine);
const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
if (probe.ok) webTests("v8", v8Engine({ node: probe.runtime.node }));
else describe("Web platform in the guest: v8", () => test.skip(`skipped: ${probe.error}`, () => {}));
