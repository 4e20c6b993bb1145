/**
 * The committed QuickJS build (sandbox/quickjs/dist) is the one its committed inputs make
 * (issue 15). Rebuilding needs emscripten, which CI installs and checks byte for byte
 * (`scripts/build-quickjs.sh --check` in .ci/run); these checks need no compiler: the outputs
 * are the files BUILD-INFO names, and BUILD-INFO's input digest is that of today's sources,
 * so a change to the C sources or the build script committed without a rebuild fails here.
 */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const info = await Bun.file(join(root, "sandbox/quickjs/dist/BUILD-INFO")).text();
const sha256 = (bytes: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

test("the committed .mjs and .wasm are the files BUILD-INFO records", async () => {
  for (const f of ["emscripten-module.mjs", "emscripten-module.wasm"]) {
    const recorded = new RegExp(`^([0-9a-f]{64})  ${f.replace(".", "\\.")}$`, "m").exec(info)?.[1];
    expect(recorded).toBeDefined();
    expect(sha256(await Bun.file(join(root, "sandbox/quickjs/dist", f)).bytes())).toBe(recorded!);
  }
});

test("BUILD-INFO's input digest is that of the committed sources (rebuild with scripts/build-quickjs.sh after changing them)", async () => {
  // The same files in the same order as the script's inputs(): byte order of their paths.
  const files = [
    ...readdirSync(join(root, "vendor/quickjs")).filter((f) => f.endsWith(".c") || f.endsWith(".h") || f === "VERSION").map((f) => `vendor/quickjs/${f}`),
    ...readdirSync(join(root, "vendor/quickjs-emscripten")).map((f) => `vendor/quickjs-emscripten/${f}`),
    "sandbox/quickjs/cantrip.c",
    "sandbox/quickjs/exported-functions.json",
    "scripts/build-quickjs.sh",
  ].sort((a, b) => (a < b ? -1 : 1)); // ASCII paths: code-unit order is byte order (LC_ALL=C sort)
  const hasher = new Bun.CryptoHasher("sha256");
  for (const f of files) hasher.update(await Bun.file(join(root, f)).bytes());
  expect(/^inputs: ([0-9a-f]{64})$/m.exec(info)?.[1]).toBe(hasher.digest("hex"));
});

test("making interpreters adds no process listeners (emscripten's Node glue would hold every interpreter's module and memory for good, and rethrow the host's unhandled rejections)", async () => {
  const { createVm, setWasmModule } = await import("../../src/runtime/quickjs/vm-factory");
  const { wasmPath } = await import("../../src/runtime/quickjs/wasm-build");
  setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));
  const events = ["uncaughtException", "unhandledRejection", "exit"] as const;
  const before = events.map((e) => process.listenerCount(e));
  for (let i = 0; i < 3; i++) await createVm(32 * 1024 * 1024);
  expect(events.map((e) => process.listenerCount(e))).toEqual(before);
});

test("an interpreter that made many object shapes (the build keeps recent ones alive, 0002-shape-keep.patch) behaves as before (objects built alike, deleted from, extended) and is freed without error", async () => {
  const { newQuickJSWASMModuleFromVariant, newVariant } = await import("quickjs-emscripten-core");
  const { variant, wasmPath } = await import("../../src/runtime/quickjs/wasm-build");
  const wasmModule = new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer());
  const qjs = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 1024 }) }));
  const rt = qjs.newRuntime();
  const vm = rt.newContext();
  // More distinct shapes than are kept, some built again and again, some deleted from and extended after.
  const r = vm.unwrapResult(
    vm.evalCode(`
      let sum = 0;
      for (let i = 0; i < 2000; i++) {
        const o = { a: i, b: 2, ["k" + (i % 700)]: 3 };
        const f = (x) => x + o.a;
        if (i % 3 === 0) { delete o.b; o.c = 4; }
        sum += f(1) + Object.keys(o).length + (o.c ?? 0);
      }
      JSON.stringify([sum, Object.keys({ x: 1, y: 2 }), ((a, b) => 0).length, (function named() {}).name]);
    `),
  );
  expect(JSON.parse(vm.getString(r))).toEqual([2000 * 2001 / 2 + 2000 * 3 + Math.ceil(2000 / 3) * 4, ["x", "y"], 2, "named"]);
  r.dispose();
  // The runtime lets go of the kept shapes when it is freed (this release build does not assert on leaks, so this checks only that freeing works).
  vm.dispose();
  expect(() => rt.dispose()).not.toThrow();
});
