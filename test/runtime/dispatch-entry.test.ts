/**
 * The one-crossing dispatch entry (src/runtime/quickjs/dispatch-entry.ts over
 * sandbox/quickjs/cantrip.c CANTRIP_Dispatch; issue 15): every outcome the handle path had
 * comes back the same way — the usual [metadata, body] texts exactly (U+0000, a leading
 * U+FEFF, non-ASCII), a throw, and everything it does not read itself (a pending or
 * rejected promise, bytes, a lone surrogate, another shape) as a handle for
 * the host's own reading; and strings it cannot pass exactly are left to the handle path.
 */
import { expect, test } from "bun:test";
import type { QuickJSHandle } from "quickjs-emscripten-core";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { createVm, setWasmModule } from "../../src/runtime/quickjs/vm-factory";
import { dispatchInOneCrossing, scratchBytes, type DispatchOutcome } from "../../src/runtime/quickjs/dispatch-entry";

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));

test("CANTRIP_Dispatch: answered, threw, slow (pending, rejected, bytes, lone surrogate, other shapes), and what it leaves to the handle path", async () => {
  const v = await createVm(32 * 1024 * 1024);
  const { vm } = v;
  const handles: QuickJSHandle[] = [];
  const keep = (h: QuickJSHandle) => (handles.push(h), h);
  const fnOf = (src: string) => keep(vm.unwrapResult(vm.evalCode(`(${src})`, "t.js", { type: "global" })));
  const thisv = keep(vm.newObject());
  const backend = keep(vm.newString("the backend"));
  const call = (src: string, meta = "M", text = "") => dispatchInOneCrossing(vm, fnOf(src), thisv, backend, meta, text)!;
  const slowState = (o: DispatchOutcome) => {
    if (o.kind !== "slow") throw new Error(`not slow: ${o.kind}`);
    const st = vm.getPromiseState(o.result);
    const out = { state: st.type, value: st.type === "fulfilled" ? vm.dump(st.value) : st.type === "rejected" ? vm.dump(st.error) : undefined, jobError: o.jobError ? vm.dump(o.jobError) : undefined };
    if (st.type === "fulfilled" && !st.notAPromise) st.value.dispose();
    if (st.type === "rejected") st.error.dispose();
    o.result.dispose();
    o.jobError?.dispose();
    return out;
  };
  try {
    // Arguments arrive as the handle path passes them: the backend, the metadata, the body or undefined.
    expect(call("function (b, m, t) { return [JSON.stringify([this === globalThis, b, m]), t === undefined ? null : t]; }", "meta\u0000é", "")).toEqual({ kind: "answered", meta: '[false,"the backend","meta\\u0000é"]', body: "" });
    const exact = "\uFEFF{\"a\":\"\u0000 é 😀\"}";
    expect(call("(b, m, t) => [m, t]", "\uFEFFm", exact)).toEqual({ kind: "answered", meta: "\uFEFFm", body: exact });
    // Settled through the job queue, as the async entry settles.
    expect(call("async (b, m, t) => { await null; return ['async', t]; }", "m", "x")).toEqual({ kind: "answered", meta: "async", body: "x" });
    expect(call("() => [1, undefined]")).toEqual({ kind: "answered", meta: null, body: "" });
    // A throw comes back as the exception.
    const threw = call("() => { throw new RangeError('no'); }");
    expect(threw.kind).toBe("threw");
    if (threw.kind === "threw") {
      expect(vm.dump(threw.error)).toMatchObject({ name: "RangeError", message: "no" });
      threw.error.dispose();
    }
    // The rest, for the host's own reading.
    expect(slowState(call("() => new Promise(() => {})"))).toEqual({ state: "pending", value: undefined, jobError: undefined });
    expect(slowState(call("async () => { throw new Error('rejected'); }")).state).toBe("rejected");
    expect(slowState(call("() => ['m', new Uint8Array([1, 2]).buffer]")).state).toBe("fulfilled");
    expect(slowState(call("() => ['m', '\\ud800x']")).value).toEqual(["m", "\ud800x"]);
    expect(slowState(call("() => ({ 0: 'm', 1: 'b' })")).value).toEqual({ 0: "m", 1: "b" });
    expect(slowState(call("() => ['m', 7]")).value).toEqual(["m", 7]);
    // A promise job catches its callback's throw (only an uncatchable one, an interrupt, stops the queue: the limits contract covers that).
    expect(call("() => { Promise.resolve().then(() => { throw new Error('in a job'); }); return ['m', 'b']; }")).toEqual({ kind: "answered", meta: "m", body: "b" });
    // Strings it cannot pass exactly as UTF-8 are left to the handle path.
    expect(dispatchInOneCrossing(vm, fnOf("() => ['m', 'b']"), thisv, backend, "m", "\udc00")).toBeNull();
    expect(dispatchInOneCrossing(vm, fnOf("() => ['m', 'b']"), thisv, backend, "\ud800", "")).toBeNull();
  } finally {
    for (const h of handles) h.dispose();
    vm.dispose();
  }
});

test("a large body crosses exactly, and the thread keeps no encoding buffer sized by it", async () => {
  const v = await createVm(64 * 1024 * 1024);
  const { vm } = v;
  const fn = vm.unwrapResult(vm.evalCode(`((b, m, t) => [m, t])`, "t.js", { type: "global" }));
  const thisv = vm.newObject();
  const backend = vm.newString("b");
  try {
    // 1 Mi code units of mixed widths (UTF-8: 1, 2, 3 and 4 bytes): the old scratch grew to 3 bytes per unit and stayed.
    const big = "a\u00e9\u20ac\u{1F600}".repeat(1 << 18);
    for (const text of [big, "small é", `${big}!`]) {
      expect(dispatchInOneCrossing(vm, fn, thisv, backend, "m\u00e9", text)).toEqual({ kind: "answered", meta: "m\u00e9", body: text });
      expect(scratchBytes()).toBeLessThanOrEqual(3 * 64 * 1024);
    }
  } finally {
    for (const h of [fn, thisv, backend]) h.dispose();
    vm.dispose();
  }
});
