/**
 * Contract: the guest cannot reach host objects — no process/Bun/require/host bridges in
 * a globalThis walk, constructor.constructor yields the guest's own global, V8-style
 * Error.prepareStackTrace hooks hand out nothing, and module imports other than "cantrip" fail.
 */
import { describe, expect, test } from "bun:test";
import { bundle, json, req, type Harness } from "../harness";
import { EVAL } from "./fixtures";

export function escapeTests(h: () => Harness) {
  const run = async (H: Harness, code: string) => json(await H.runtime.fetch(H.ref("escape", await bundle(EVAL), { bundleId: "escape" }), req("POST", "/eval", { code }))).result;

  describe("host objects are out of reach", () => {
    test("globalThis walk finds no host object", async () => {
      const found = await run(h(), `
        const seen = new Set(), names = [];
        const walk = (o, path, depth) => {
          if (!o || (typeof o !== "object" && typeof o !== "function") || seen.has(o) || depth > 3) return;
          seen.add(o);
          for (const k of Reflect.ownKeys(o)) {
            let v; try { v = o[k]; } catch { continue; }
            names.push(String(k));
            walk(v, path + "." + String(k), depth + 1);
          }
        };
        walk(globalThis, "globalThis", 0);
        return names;`);
      const forbidden = ["process", "Bun", "require", "module", "__cantripHost", "__cantripEntry", "__cantripSdk", "Deno", "os", "std", "postMessage", "self", "importScripts"];
      expect(found.filter((n: string) => forbidden.includes(n))).toEqual([]);
      expect(found).toContain("fetch");
    });

    test("constructor.constructor, Function and eval give the guest's own global", async () => {
      expect(await run(h(), `
        const g = (() => {}).constructor.constructor("return this")();
        const g2 = Function("return globalThis")();
        return [g === globalThis, g2 === globalThis, typeof g.process, typeof g.Bun, typeof require, typeof eval("this").process,
                Object.getPrototypeOf(async function () {}).constructor("return typeof process")() instanceof Promise];`)).toEqual([true, true, "undefined", "undefined", "undefined", "undefined", true]);
    });

    test("Error.prepareStackTrace and stack inspection leak nothing", async () => {
      const r = await run(h(), `
        let captured = null;
        Error.prepareStackTrace = (err, frames) => { captured = frames; return "hooked"; };
        const stack = new Error("x").stack;
        let viaHost = null;
        try { await ctx.kv.get(""); } catch (e) { viaHost = [typeof e.constructor, e.constructor === Error, Object.getPrototypeOf(e) === Error.prototype]; }
        return [typeof stack, Array.isArray(captured) && captured.some((f) => typeof f.getThis === "function"), viaHost];`);
      expect(r[0]).toBe("string");
      expect(r[1]).toBe(false);
      expect(r[2]).toEqual(["function", true, true]);
    });

    test("no shared or resizable buffers: growable SharedArrayBuffer, resizable ArrayBuffer, Atomics, shared wasm memory", async () => {
      const r = await run(h(), `
        const out = {};
        try { const s = new SharedArrayBuffer(8, { maxByteLength: 2 ** 30 }); s.grow(2 ** 24); out.sab = "grown " + s.byteLength; } catch (e) { out.sab = e.name; }
        out.globals = [typeof SharedArrayBuffer, typeof Atomics, typeof WebAssembly, typeof globalThis.SharedArrayBuffer];
        try { const b = new ArrayBuffer(8, { maxByteLength: 2 ** 30 }); b.resize(2 ** 24); out.resizable = "resized " + b.byteLength; } catch (e) { out.resizable = e.name; }
        const Intrinsic = Object.getPrototypeOf(new Uint8Array(1).buffer).constructor;
        try { Reflect.construct(Intrinsic, [8, { maxByteLength: 64 }]); out.intrinsic = "made"; } catch (e) { out.intrinsic = e.name; }
        out.resize = typeof ArrayBuffer.prototype.resize;
        try { out.shared = String(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer); } catch (e) { out.shared = e.name; }
        class Sub extends ArrayBuffer {}
        const b = new ArrayBuffer(16); new Uint8Array(b)[3] = 7;
        out.plain = [Intrinsic === ArrayBuffer, new Uint8Array(2).buffer instanceof ArrayBuffer, new Uint8Array(b)[3], b.slice(2, 6).byteLength, new Sub(4) instanceof ArrayBuffer, new Sub(4).byteLength, ArrayBuffer.isView(new DataView(b)), ArrayBuffer.name];
        return out;`);
      expect(r).toEqual({
        sab: "ReferenceError",
        globals: ["undefined", "undefined", "undefined", "undefined"],
        resizable: "TypeError",
        intrinsic: "TypeError",
        resize: "undefined",
        shared: "ReferenceError",
        plain: [true, true, 7, 4, true, 4, true, "ArrayBuffer"],
      });
    });

    test("dynamic import of host modules fails", async () => {
      expect(await run(h(), `const out = [];
        for (const m of ["fs", "node:child_process", "bun:sqlite", "./worker.ts"]) { try { await import(m); out.push("loaded " + m); } catch (e) { out.push("refused"); } }
        return out;`)).toEqual(["refused", "refused", "refused", "refused"]);
    });
  });
}
