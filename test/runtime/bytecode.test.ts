/**
 * QuickJS bytecode through cantrip's own build (issue 15: sandbox/quickjs/cantrip.c,
 * src/runtime/quickjs/bytecode.ts): a script compiled in one interpreter runs in another of
 * the same build, the prelude from its committed bytecode leaves exactly the globals its
 * source does, and a script that throws or does not compile is reported, not half-run
 * silently. Real interpreters of the committed build.
 */
import { expect, test } from "bun:test";
import { runInFreshProcess } from "./fresh-process";
import { join } from "node:path";
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext } from "quickjs-emscripten-core";
import { PRELUDE_BYTECODE, PRELUDE_PARTS, PRELUDE_PARTS_LAZY_URL } from "../../sandbox/dist/prelude.gen";
import { preludeBytecodePath } from "../../sandbox/build-prelude";
import { PRELUDE_COMPILE, compileScript, quickjsBuildId, runBytecode } from "../../src/runtime/quickjs/bytecode";
import { installHost } from "../../src/runtime/quickjs/guest-host";
import { variant, wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { createVm, setWasmModule } from "../../src/runtime/quickjs/vm-factory";

const wasmModule = new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer());
setWasmModule(wasmModule);

/** A fresh interpreter in its own module and memory, as the sandbox makes them. */
async function fresh(): Promise<QuickJSContext> {
  const wasmMemory = new WebAssembly.Memory({ initial: 256, maximum: 2048 });
  return (await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, wasmMemory }))).newContext();
}

const evalText = (vm: QuickJSContext, code: string) => {
  const h = vm.unwrapResult(vm.evalCode(code, "t.js", { type: "global" }));
  const v = vm.dump(h);
  h.dispose();
  return v;
};

test("bytecode compiled in one interpreter runs in another, in its global scope", async () => {
  const a = await fresh();
  const bc = compileScript(a, `var answer = 40 + 2; globalThis.made = [typeof answer, "é✓"].join(" ");`, "s.js");
  // Compiling does not run it.
  expect(evalText(a, "typeof answer")).toBe("undefined");
  const b = await fresh();
  expect(runBytecode(b, bc)).toBe(true);
  expect(evalText(b, "[answer, made]")).toEqual([42, "number é✓"]);
});

test("a script that throws while running reports false and leaves the interpreter usable", async () => {
  const a = await fresh();
  const bc = compileScript(a, `globalThis.before = 1; throw new Error("boom"); globalThis.after = 1;`, "t.js");
  const b = await fresh();
  expect(runBytecode(b, bc)).toBe(false);
  expect(evalText(b, "[typeof before, typeof after, 1 + 1]")).toEqual(["number", "undefined", 2]);
});

test("source that does not compile is refused with its file name", async () => {
  const a = await fresh();
  expect(() => compileScript(a, "let = ;", "broken.js")).toThrow(/broken\.js does not compile/);
  expect(evalText(a, "1 + 1")).toBe(2);
});

test("the prelude from its committed bytecode leaves the same globals as from source, and names its parts in stack traces", async () => {
  expect<string | null>(PRELUDE_BYTECODE.build).toBe(quickjsBuildId(await Bun.file(new URL("../../sandbox/quickjs/dist/BUILD-INFO", import.meta.url)).text()));
  const bytes = await Bun.file(preludeBytecodePath).bytes();
  const globals = `Object.getOwnPropertyNames(globalThis).sort().join(",")`;
  const fromSource = await fresh();
  installHost(fromSource);
  for (const [i, part] of PRELUDE_PARTS.entries()) fromSource.unwrapResult(fromSource.evalCode(part, `cantrip:prelude-${i}.js`, { type: "global" })).dispose();
  const fromBytecode = await fresh();
  installHost(fromBytecode);
  for (const [off, len] of PRELUDE_BYTECODE.parts) expect(runBytecode(fromBytecode, bytes.subarray(off, off + len))).toBe(true);
  expect(evalText(fromBytecode, globals)).toBe(evalText(fromSource, globals) as string);
  // The shims work, and an error thrown inside them still points into the prelude.
  expect(evalText(fromBytecode, `new URL("https://a.example/x?y=1").searchParams.get("y")`)).toBe("1");
  expect(evalText(fromBytecode, `try { new Headers([["bad header", "x"]]); "no throw" } catch (e) { String(e.stack) }`)).toContain("cantrip:prelude-2.js");
});

test("createVm makes a working interpreter from the bytecode, with the URL library lazy or not", async () => {
  for (const lazyUrl of [false, true]) {
    const v = await createVm(64 * 1024 * 1024, undefined, lazyUrl);
    expect(evalText(v.vm, `typeof globalThis.__cantripEntry + " " + new URLSearchParams("a=1&b=2").get("b") + " " + typeof Response.json`)).toBe("undefined 2 function");
  }
});

test("the committed bytecode is exactly the compilation of the source parts a fallback would evaluate, for both part sets", async () => {
  // build-prelude.ts writes the lazy-URL part's text twice (compiled, and as a template in
  // prelude.gen.ts); if the two drifted, interpreters from bytecode and from source would differ.
  const bytes = await Bun.file(preludeBytecodePath).bytes();
  const vm = await fresh();
  for (const [parts, spans] of [[PRELUDE_PARTS, PRELUDE_BYTECODE.parts], [PRELUDE_PARTS_LAZY_URL, PRELUDE_BYTECODE.lazyUrlParts]] as const) {
    expect(spans.length).toBe(parts.length);
    for (const [i, part] of parts.entries()) {
      const [off, len] = spans[i]!;
      expect(Buffer.from(compileScript(vm, part, `cantrip:prelude-${i}.js`, PRELUDE_COMPILE)).equals(Buffer.from(bytes.subarray(off, off + len)))).toBe(true);
    }
  }
});

test("an interpreter is made from the source when the bytecode file cannot be read, and the read is tried again", async () => {
  // In a process of its own: vm-factory reads the file once per thread.
  const script = `
    const realFile = Bun.file;
    let reads = 0;
    Bun.file = (p, ...rest) => (String(p).endsWith("prelude.qjsbc") && ++reads === 1 ? realFile("/nonexistent/prelude.qjsbc") : realFile(p, ...rest));
    const { wasmPath } = await import(${JSON.stringify(new URL("../../src/runtime/quickjs/wasm-build.ts", import.meta.url).pathname)});
    const { createVm, setWasmModule } = await import(${JSON.stringify(new URL("../../src/runtime/quickjs/vm-factory.ts", import.meta.url).pathname)});
    setWasmModule(new WebAssembly.Module(await realFile(wasmPath).arrayBuffer()));
    const out = [];
    for (let i = 0; i < 2; i++) {
      const v = await createVm(64 * 1024 * 1024);
      const h = v.vm.unwrapResult(v.vm.evalCode("typeof Response.json", "t.js"));
      out.push(v.vm.dump(h));
      h.dispose();
    }
    console.log(JSON.stringify({ out, reads }));`;
  const stdout = await runInFreshProcess("read-fails", script);
  expect(JSON.parse(stdout.trim())).toEqual({ out: ["function", "function"], reads: 2 });
});
