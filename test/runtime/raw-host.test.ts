/**
 * Raw host functions (src/runtime/quickjs/raw-host.ts; issue 15): they take the same
 * arguments and give the guest the same values as a function made with newFunction — text
 * exactly (U+0000, lone surrogates, non-ASCII), numbers, handles, a throw as the guest's
 * exception — while other host functions of the same context keep quickjs-emscripten's path,
 * and a raw function that calls back into the guest, which calls another, keeps its own
 * arguments.
 */
import { expect, test } from "bun:test";
import type { QuickJSHandle } from "quickjs-emscripten-core";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { createVm, setWasmModule } from "../../src/runtime/quickjs/vm-factory";
import { newRawFunction, type RawArgs } from "../../src/runtime/quickjs/raw-host";

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));

test("a raw host function reads text, numbers and handles, and answers text, numbers, undefined or a throw, exactly", async () => {
  const { vm } = await createVm(32 * 1024 * 1024);
  const seen: unknown[] = [];
  let answer: (a: RawArgs) => string | number | undefined = () => undefined;
  const defs: [string, QuickJSHandle][] = [
    ["raw", newRawFunction(vm, "raw", (a) => answer(a))],
    ["plain", vm.newFunction("plain", (x) => vm.newString(`plain:${vm.getString(x)}`))],
  ];
  for (const [name, h] of defs) {
    vm.setProp(vm.global, name, h);
    h.dispose();
  }
  const run = (code: string) => {
    const r = vm.unwrapResult(vm.evalCode(code, "t.js", { type: "global" }));
    const v = vm.dump(r);
    r.dispose();
    return v;
  };
  try {
    // Text: read fast, and exactly when a U+0000 cut the fast read (seen by the length the guest passes) or a lone surrogate spoiled it.
    answer = (a) => (seen.push([a.count, a.text(0, a.number(1)), a.text(2), a.number(3), a.number(4)]), undefined);
    const texts = ["plain", "é 😀 \u2028", "a\u0000b", "x\ud800y", "\udfff", ""];
    for (const s of texts) run(`raw(${JSON.stringify(s)}, ${s.length}, "kv.get", 42, undefined)`);
    expect(seen).toEqual(texts.map((s) => [5, s, "kv.get", 42, undefined]));
    // An argument not passed is undefined.
    seen.length = 0;
    run(`raw("only")`);
    expect(seen).toEqual([[1, "only", undefined, undefined, undefined]]);
    // A handle is the guest's value, owned by the caller.
    answer = (a) => {
      const h = a.handle(0);
      seen.push(vm.dump(h));
      h.dispose();
      return undefined;
    };
    seen.length = 0;
    run(`raw({ a: [1, "two"] })`);
    expect(seen).toEqual([{ a: [1, "two"] }]);
    // Not past the arguments passed (their memory is the guest's stack).
    expect(run(`(() => { try { raw(); return "read"; } catch (e) { return e.message; } })()`)).toBe("host function argument 0 of 0");
    // Answers: text exactly, numbers, undefined.
    for (const out of ["back", "é 😀", "a\u0000b", "x\ud800y", "", 7.5, undefined]) {
      answer = () => out;
      expect(run(`(() => { const r = raw(); return [typeof r, r === undefined ? "u" : r]; })()`)).toEqual([typeof out, out === undefined ? "u" : out]);
    }
    answer = () => -0;
    expect(run(`1 / raw()`)).toBe(-Infinity);
    // A throw is the guest's exception, and the function stays usable.
    answer = () => {
      throw new Error("refused: no active call");
    };
    expect(run(`(() => { try { raw(); return "no throw"; } catch (e) { return [e instanceof Error, e.message]; } })()`)).toEqual([true, "refused: no active call"]);
    answer = () => "again";
    expect(run(`raw()`)).toBe("again");
    // Other host functions of the context keep their own path.
    expect(run(`plain("x")`)).toBe("plain:x");
    // Re-entry: a raw function calling into the guest, which calls another raw function, reads its own arguments after.
    const inner = newRawFunction(vm, "inner", (a) => `inner:${a.text(0)}`);
    vm.setProp(vm.global, "inner", inner);
    inner.dispose();
    const cb = vm.unwrapResult(vm.evalCode(`() => inner("deep")`, "cb.js", { type: "global" }));
    answer = (a) => {
      const before = a.text(0);
      const r = vm.unwrapResult(vm.callFunction(cb, vm.undefined));
      const got = vm.getString(r);
      r.dispose();
      return `${before}|${got}|${a.text(0)}|${a.count}`;
    };
    expect(run(`raw("outer", 1, 2)`)).toBe("outer|inner:deep|outer|3");
    cb.dispose();
  } finally {
    vm.dispose();
  }
});
