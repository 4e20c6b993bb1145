/**
 * Spare interpreters never block a call (issue 15, cold start): after a load a refill waits
 * for the call that usually follows it, and between its steps (each prelude part, the SDK
 * module) it pauses while calls are in flight — so a deploy's first call, which follows its
 * warm load within a few ms, finds the thread free instead of waiting out a whole
 * interpreter (~7 ms warm, far more while the WebAssembly is cold). Runs the worker's own
 * modules (vm-factory.ts, idle.ts) on the test's thread with the real QuickJS WebAssembly.
 */
import { beforeAll, expect, test } from "bun:test";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { PRELUDE_PARTS } from "../../sandbox/dist/prelude.gen";
import { SparePool, createVm, setWasmModule } from "../../src/runtime/quickjs/vm-factory";
import { callEnded, callStarted, expectCall, idle } from "../../src/runtime/quickjs/idle";

const MEMORY = 32 * 1024 * 1024;

beforeAll(async () => {
  setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));
});

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error("timed out");
    await Bun.sleep(2);
  }
}

test("createVm awaits its pause before every step, and the interpreter is not done while a pause holds", async () => {
  let pauses = 0;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let done = false;
  const made = createVm(MEMORY, () => (++pauses === 2 ? held : Promise.resolve())).then((vm) => ((done = true), vm));
  await until(() => pauses === 2);
  await Bun.sleep(50);
  expect(done).toBe(false);
  release();
  const vm = await made;
  // One pause before each prelude part and one before the SDK module.
  expect(pauses).toBe(PRELUDE_PARTS.length + 1);
  expect(vm.vm.dump(vm.vm.unwrapResult(vm.vm.evalCode("typeof URL + typeof Response")))).toBe("functionfunction");
});

test("a refill pauses while a call is in flight and finishes once the worker is idle again", async () => {
  let steps = 0;
  let callArrived = false;
  // The worker's own pause (wait until idle), counting steps; the first step lets a "call" start.
  const pool = new SparePool(1, MEMORY, async () => {
    await idle();
    steps++;
    if (steps === 1) {
      callStarted();
      callArrived = true;
    }
  });
  pool.refillSoon();
  await until(() => callArrived);
  await Bun.sleep(200);
  expect(pool.size).toBe(0); // held at its first step while the call runs
  expect(steps).toBe(1);
  callEnded();
  await until(() => pool.size === 1);
  expect(steps).toBe(PRELUDE_PARTS.length + 1);
});

test("a load that finds a refill under way takes that interpreter, finished without its pauses, and makes none of its own", async () => {
  let steps = 0;
  // The worker's own pause, counting steps; at the second step a load arrives (a call in flight), so the refill stalls there.
  const pool = new SparePool(1, MEMORY, async () => {
    steps++;
    if (steps === 2) callStarted();
    await idle();
  });
  const Memory = WebAssembly.Memory;
  let memories = 0;
  // Counts the interpreters made from here on (each has a WebAssembly.Memory of its own).
  (WebAssembly as { Memory: unknown }).Memory = new Proxy(Memory, { construct: (M, args) => (memories++, new M(...(args as [WebAssembly.MemoryDescriptor]))) });
  try {
    pool.refillSoon();
    await until(() => steps === 2);
    await Bun.sleep(50);
    expect(pool.size).toBe(0); // stalled: the "load" is in flight
    // The load takes a spare: it must not wait for the worker to go idle (it is what keeps it busy) nor make a second interpreter.
    const vm = await pool.take(MEMORY);
    expect(vm.vm.dump(vm.vm.unwrapResult(vm.vm.evalCode("typeof Response")))).toBe("function");
    expect(memories).toBe(1);
    expect(steps).toBe(2); // no further pause once hurried
  } finally {
    (WebAssembly as { Memory: unknown }).Memory = Memory;
    callEnded();
  }
  // The pool refills as before once the worker is idle.
  await until(() => pool.size === 1);
});

test("after a load, a refill waits for the loaded instance's first call (or the grace), not just the idle time", async () => {
  const pool = new SparePool(1, MEMORY);
  callStarted();
  expectCall(5_000); // what the worker does as it answers a load
  callEnded();
  pool.refillSoon();
  await Bun.sleep(100);
  expect(pool.size).toBe(0); // idle, but the load's first call has not come yet
  callStarted(); // it comes …
  await Bun.sleep(5);
  callEnded(); // … and goes: now the idle time counts
  await until(() => pool.size === 1);
});

test("the process's first interpreter (lazyUrl) leaves URL to first use, then behaves as an eager one", async () => {
  const probe = `const d = () => Object.getOwnPropertyDescriptor(globalThis, "URL");
    const before = typeof d().get;
    const u = new URL("https://例え.jp:8443/a/../b?x=1&x=2#h");
    const q = new URLSearchParams("a=1 2&b=%20");
    JSON.stringify({ before, after: typeof d().get, href: u.href, x: u.searchParams.getAll("x"), q: q.toString(), name: URL.name, same: u.searchParams instanceof URLSearchParams })`;
  const run = async (lazyUrl: boolean) => {
    const vm = await createVm(MEMORY, undefined, lazyUrl);
    return JSON.parse(vm.vm.dump(vm.vm.unwrapResult(vm.vm.evalCode(probe))));
  };
  const lazy = await run(true);
  const eager = await run(false);
  expect(lazy.before).toBe("function"); // a getter until first use
  expect(eager.before).toBe("undefined"); // a value from the start
  const { before: _a, ...lazyRest } = lazy;
  const { before: _b, ...eagerRest } = eager;
  expect(lazyRest).toEqual(eagerRest);
  expect(lazy.href).toBe("https://xn--r8jz45g.jp:8443/b?x=1&x=2#h");
});
