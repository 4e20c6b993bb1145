/**
 * Which route handlers get no ctx made for them (issue 15: a ctx costs ~2.5 µs per call in
 * QuickJS): sandbox/sdk/router.ts ctxFree, run where it runs — inside a QuickJS interpreter,
 * on the source text QuickJS gives for each function. Only an arrow function with no
 * parameter or one plain identifier may go without; everything that could read a second
 * argument (a `function`, a method, a default, a pattern, a rest parameter) or whose text is
 * unusual (a comment, a non-ASCII name, a bound or native function) is given one. The
 * contract suite (test/runtime/contract/sdk-calls.ts) checks the same handlers end to end.
 */
import { expect, test } from "bun:test";
import * as esbuild from "esbuild";
import { join } from "node:path";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { createVm, setWasmModule } from "../../src/runtime/quickjs/vm-factory";

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));

test("ctxFree: true only for arrow functions that declare at most one plain parameter", async () => {
  const built = await esbuild.build({
    stdin: { contents: `import { ctxFree } from "./router"; globalThis.ctxFree = ctxFree;`, resolveDir: join(import.meta.dir, "../../sandbox/sdk"), loader: "ts" },
    bundle: true,
    format: "iife",
    platform: "neutral",
    target: "es2023",
    write: false,
  });
  const v = await createVm(32 * 1024 * 1024);
  try {
    const run = (code: string) => {
      const h = v.vm.unwrapResult(v.vm.evalCode(code, "t.js", { type: "global" }));
      const out = v.vm.dump(h);
      h.dispose();
      return out;
    };
    run(built.outputFiles[0]!.text);
    const cases: [string, boolean][] = [
      ["(input) => input", true],
      ["async (input) => ({ ok: true, n: input.n ?? 0 })", true],
      ["input => input", true],
      ["async input => input", true],
      ["() => 1", true],
      ["async () => 1", true],
      ["( input ) => input", true],
      ["(async) => 1", true],
      ["(input, ctx) => ctx", false],
      ["(input, ctx = null) => ctx", false],
      ["(input = {}) => input", false],
      ["({ n }) => n", false],
      ["([n]) => n", false],
      ["(...args) => args[1]", false],
      ["(input /* , ctx */) => input", false],
      ["(ïnput) => ïnput", false],
      ["function (input) { return arguments[1]; }", false],
      ["async function (input) { return arguments[1]; }", false],
      ["function* (input) { yield arguments[1]; }", false],
      ["({ handle(input) { return arguments[1]; } }).handle", false],
      ["({ async handle(input) { return arguments[1]; } }).handle", false],
      ["({ async(input) { return arguments[1]; } }).async", false],
      ["((input) => input).bind(null)", false],
      ["Math.max", false],
      ["new Proxy((input) => input, {})", false],
    ];
    const got = run(`[${cases.map(([src]) => `ctxFree(${src})`).join(", ")}]`) as boolean[];
    expect(cases.map(([src], i) => [src, got[i]])).toEqual(cases);
    // A module that replaces Function.prototype.toString or Reflect.apply afterwards does not change the answer.
    expect(run(`Function.prototype.toString = () => "(x) => x"; Reflect.apply = () => "(x) => x"; [ctxFree(function (a) {}), ctxFree((a) => a)]`)).toEqual([false, true]);
  } finally {
    v.vm.dispose();
  }
});
