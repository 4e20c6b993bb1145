/**
 * What every QuickJS interpreter carries of the guest prelude (issue 15: memory per loaded
 * backend). The prelude's functions are compiled without their source text, and the Web
 * Streams text stays with the host until a guest first uses a stream, so none of those
 * texts is in a new interpreter's WebAssembly memory; a guest's own functions keep theirs.
 * Checked on the interpreters the sandbox makes (vm-factory.ts createVm), from the committed
 * bytecode and from the fallback that compiles the parts itself.
 */
import { expect, test } from "bun:test";
import { runInFreshProcess } from "./fresh-process";
import { join } from "node:path";
import type { QuickJSContext } from "quickjs-emscripten-core";
import { PRELUDE_MAIN, PRELUDE_SOURCES } from "../../sandbox/dist/prelude.gen";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { createVm, setWasmModule, type Vm } from "../../src/runtime/quickjs/vm-factory";

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));

const evalText = (vm: QuickJSContext, code: string) => {
  const h = vm.unwrapResult(vm.evalCode(code, "t.js", { type: "global" }));
  const v = vm.dump(h);
  h.dispose();
  return v;
};

/** 64 bytes from the middle of `text` (ASCII: QuickJS keeps such strings one byte per character). */
const sample = (text: string) => Buffer.from(text.slice(text.length >> 1, (text.length >> 1) + 64), "latin1");

/** The texts no new interpreter should hold: the shims' and SDK's source, the streams and URL library source. */
const SAMPLES = { main: sample(PRELUDE_MAIN), streams: sample(PRELUDE_SOURCES.streams), libs: sample(PRELUDE_SOURCES.libs) };

function held(v: Vm): string[] {
  const mem = Buffer.from(v.memory.buffer);
  return Object.entries(SAMPLES)
    .filter(([, s]) => mem.indexOf(s) >= 0)
    .map(([k]) => k);
}

test("a new interpreter's memory holds none of the prelude's source texts", async () => {
  for (const lazyUrl of [false, true]) {
    const v = await createVm(64 * 1024 * 1024, undefined, lazyUrl);
    expect(held(v)).toEqual([]);
  }
});

test("prelude functions read as built-ins; a guest's own functions keep their source", async () => {
  const v = await createVm(64 * 1024 * 1024);
  expect(evalText(v.vm, `Function.prototype.toString.call(Headers)`)).toBe("function Headers() {\n    [native code]\n}");
  expect(evalText(v.vm, `String(fetch).includes("[native code]")`)).toBe(true);
  expect(evalText(v.vm, `(function add(a, b) { return a + b; }).toString()`)).toBe("function add(a, b) { return a + b; }");
  expect(evalText(v.vm, `(class K { m() { return 1; } }).toString()`)).toBe("class K { m() { return 1; } }");
});

test("the Web Streams text comes from the host on first use, and streams work", async () => {
  const v = await createVm(64 * 1024 * 1024);
  expect(held(v)).not.toContain("streams");
  // A stream read to its end through the polyfill the host handed over.
  const p = v.vm.unwrapResult(
    v.vm.evalCode(
      `(async () => { const r = new ReadableStream({ start(c) { c.enqueue("a"); c.enqueue("b"); c.close(); } }).getReader(); let s = ""; for (;;) { const x = await r.read(); if (x.done) return s; s += x.value; } })()`,
      "s.js",
      { type: "global" },
    ),
  );
  v.rt.executePendingJobs(-1);
  const state = v.vm.getPromiseState(p);
  p.dispose();
  expect(state.type).toBe("fulfilled");
  if (state.type === "fulfilled") {
    expect(v.vm.dump(state.value)).toBe("ab");
    state.value.dispose();
  }
  expect(held(v)).toContain("streams");
});

test("a lazy-URL interpreter runs the URL library from bytecode on first use, or evaluates its text when that fails", async () => {
  const probe = `JSON.stringify([new URL("https://a.example/p?q=1").searchParams.get("q"), URL.name, String(URLSearchParams).includes("[native code]")])`;
  const fromBytecode = await createVm(64 * 1024 * 1024, undefined, true);
  expect(evalText(fromBytecode.vm, probe)).toBe(JSON.stringify(["1", "URL", true]));
  expect(held(fromBytecode)).toEqual([]);
  const fromText = await createVm(64 * 1024 * 1024, undefined, true);
  fromText.host.libs = () => false;
  expect(evalText(fromText.vm, probe)).toBe(JSON.stringify(["1", "URL", false]));
  expect(held(fromText)).toContain("libs");
});

test("an interpreter made without the bytecode file holds no prelude source either", async () => {
  // In a process of its own: vm-factory reads the file once per thread.
  const script = `
    const realFile = Bun.file;
    Bun.file = (p, ...rest) => (String(p).endsWith("prelude.qjsbc") ? realFile("/nonexistent/prelude.qjsbc") : realFile(p, ...rest));
    const { wasmPath } = await import(${JSON.stringify(new URL("../../src/runtime/quickjs/wasm-build.ts", import.meta.url).pathname)});
    const { createVm, setWasmModule } = await import(${JSON.stringify(new URL("../../src/runtime/quickjs/vm-factory.ts", import.meta.url).pathname)});
    const { PRELUDE_MAIN } = await import(${JSON.stringify(new URL("../../sandbox/dist/prelude.gen.ts", import.meta.url).pathname)});
    setWasmModule(new WebAssembly.Module(await realFile(wasmPath).arrayBuffer()));
    const v = await createVm(64 * 1024 * 1024);
    const h = v.vm.unwrapResult(v.vm.evalCode("Function.prototype.toString.call(Headers)", "t.js"));
    const text = v.vm.dump(h);
    h.dispose();
    const s = Buffer.from(PRELUDE_MAIN.slice(PRELUDE_MAIN.length >> 1, (PRELUDE_MAIN.length >> 1) + 64), "latin1");
    console.log(JSON.stringify({ text, held: Buffer.from(v.memory.buffer).indexOf(s) >= 0 }));`;
  const stdout = await runInFreshProcess("no-bytecode", script);
  expect(JSON.parse(stdout.trim())).toEqual({ text: "function Headers() {\n    [native code]\n}", held: false });
});
