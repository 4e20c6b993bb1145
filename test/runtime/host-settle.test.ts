/**
 * A guest's kv call answered by the main thread settles in one crossing (issue 15): the
 * guest waits on its own promise (the prelude's `host.send`), and the worker settles it
 * through the entry's `settle` in CANTRIP_Dispatch, which runs the jobs it unblocks and
 * reads the call's answer — no promise made by the host, no separate job pump (instance.ts
 * resume). What the guest sees is what it saw before: the result, a failure as an Error with
 * the host's message, text exactly; a request whose call ended with no other running is
 * forgotten by the guest at the next settle or the start of the next call; what the guest
 * hands over where the host reads text is read as text, whatever it is.
 */
import { expect, test } from "bun:test";
import type { QuickJSContext } from "quickjs-emscripten-core";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { SparePool, setWasmModule } from "../../src/runtime/quickjs/vm-factory";
import { QjsInstance } from "../../src/runtime/quickjs/instance";
import { requestMeta } from "../../src/runtime/quickjs/protocol";
import { defaultLimits } from "../../src/runtime";
import { parseHostCall } from "../../src/runtime/host-calls";
import type { HostResult } from "../../src/runtime/quickjs/guest-host";
import { bundle } from "./harness";

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));

const BACKEND = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: {
    "POST /set": { input: t.Object({ v: t.Any() }), handle: async (input, ctx) => { await ctx.kv.set("k", input.v); return { ok: true }; } },
    "POST /get": { input: t.Object({ key: t.String() }), handle: async (input, ctx) => ({ v: await ctx.kv.get(input.key) }) },
    "POST /twice": { input: t.Object({}), handle: async (input, ctx) => ({ a: await ctx.kv.get("a"), b: await ctx.kv.get("b") }) },
    "POST /fail": { input: t.Object({}), handle: async (input, ctx) => { try { await ctx.kv.set("k", 1); return { thrown: false }; } catch (e) { return { thrown: true, isError: e instanceof Error, message: e.message }; } } },
    "POST /forget": { input: t.Object({}), handle: async (input, ctx) => { ctx.kv.set("late", 1).catch(() => {}); return { ok: true }; } },
    "POST /tampered": { input: t.Object({ n: t.Number() }), handle: async (input, ctx) => { const big = Array.from({ length: input.n }, () => []); const stringify = JSON.stringify; JSON.stringify = () => big; try { await ctx.kv.set("k", 1); return { thrown: false }; } catch (e) { return { thrown: true, message: e.message }; } finally { JSON.stringify = stringify; } } },
    "POST /logobj": { input: t.Object({}), handle: async (input, ctx) => { const join = Array.prototype.join; Array.prototype.join = function () { Array.prototype.join = join; return { length: 0, big: [[], [], []] }; }; console.log("x", 1); return { ok: true }; } },
    "POST /burst": { input: t.Object({ n: t.Number() }), handle: async (input, ctx) => { for (let i = 0; i < input.n; i++) ctx.kv.set("k" + i, i).catch(() => {}); return { ok: true }; } },
  },
});
`;

/** An instance whose host calls the test answers (asynchronously, as the main thread does), with its FFI and dispatch entry counted. */
async function setup(answer: (op: string, args: string) => HostResult | Error) {
  const seen: { op: string; args: unknown }[] = [];
  const bridge = (_call: number, op: string, args: unknown) =>
    new Promise<HostResult>((resolve, reject) =>
      setTimeout(() => {
        seen.push({ op, args });
        // As the main thread checks it (host-calls.ts parseHostCall).
        const r = typeof args !== "string" ? new Error(`${op}: arguments are not text`) : answer(op, args);
        if (r instanceof Error) reject(r);
        else resolve(r);
      }, 1),
    );
  const spares = new SparePool(0, defaultLimits.memoryBytes);
  const { instance } = await QjsInstance.load(spares, 1, "b.js", await bundle(BACKEND), defaultLimits, { agentId: "a", env: {}, secrets: [] }, bridge, () => {});
  const vm = (instance as unknown as { v: { vm: { ffi: Record<string, (...a: unknown[]) => unknown>; module: Record<string, unknown> & { HEAPU8: Uint8Array } } } }).v.vm;
  const counts: Record<string, number> = {};
  for (const [k, f] of Object.entries(vm.ffi)) {
    if (typeof f === "function" && k.startsWith("QTS_")) vm.ffi[k] = (...a: unknown[]) => ((counts[k] = (counts[k] ?? 0) + 1), f(...a));
  }
  // The dispatch entry's second argument text, per crossing: the request's metadata, or a settle's head.
  // (Emscripten's export starts as a stub that puts the real function in its place on first use.)
  const heads: string[] = [];
  let entry = vm.module._CANTRIP_Dispatch as (...a: number[]) => number;
  const counted = (...a: number[]) => {
    heads.push(new TextDecoder().decode(vm.module.HEAPU8.slice(a[4]!, a[4]! + a[5]!)));
    const r = entry(...a);
    if (vm.module._CANTRIP_Dispatch !== counted) {
      entry = vm.module._CANTRIP_Dispatch as typeof entry;
      vm.module._CANTRIP_Dispatch = counted;
    }
    return r;
  };
  vm.module._CANTRIP_Dispatch = counted;
  let id = 100;
  const call = async (path: string, body: unknown) => {
    const n = ++id;
    const { res } = await instance.fetch(n, requestMeta("POST", `http://t.cantrip.internal${path}`, [["content-type", "application/json"]], n, false), JSON.stringify(body));
    logs = res.logs;
    return JSON.parse(res.body as string);
  };
  let logs: unknown = [];
  const reset = () => {
    for (const k in counts) delete counts[k];
    heads.length = 0;
  };
  return { call, counts, heads, seen, reset, instance, logs: () => logs };
}

test("a kv call answered by the main thread settles in one crossing: no host-made promise, no separate job pump, the answer read there", async () => {
  const s = await setup((op, args) => ({ json: op === "kv.get" ? JSON.stringify(`value of ${JSON.parse(args).key}`) : "" }));
  expect(await s.call("/get", { key: "x" })).toEqual({ v: "value of x" });
  s.reset();
  expect(await s.call("/set", { v: { deep: [1, "two"] } })).toEqual({ ok: true });
  expect(s.seen.at(-1)).toEqual({ op: "kv.set", args: JSON.stringify({ key: "k", value: { deep: [1, "two"] } }) });
  // Two crossings of the entry: the dispatch, then the settle that answered it.
  expect(s.heads.length).toBe(2);
  expect(s.heads[1]).toMatch(/^\d+$/);
  expect(s.counts.QTS_NewPromiseCapability ?? 0).toBe(0);
  expect(s.counts.QTS_ExecutePendingJob ?? 0).toBe(0);
  // Two waits in a row: each settles its own request.
  s.reset();
  expect(await s.call("/twice", {})).toEqual({ a: "value of a", b: "value of b" });
  expect(s.heads.length).toBe(3);
  expect(s.counts.QTS_NewPromiseCapability ?? 0).toBe(0);
});

test("a failed request rejects with an Error carrying the host's message; text crosses exactly both ways", async () => {
  const weird = "a\u0000b \ud800 é 😀 \u2028";
  const s = await setup((op, args) => {
    if (op === "kv.set") return new Error("kv: storing k would use 2000 bytes, over this agent's limit of 1000 bytes");
    // A result whose JSON text holds a lone surrogate as is (valid JSON) and a key echoed back.
    return { json: `{"key":${JSON.stringify(JSON.parse(args).key)},"lone":"\ud800x"}` };
  });
  expect(await s.call("/fail", {})).toEqual({ thrown: true, isError: true, message: "kv: storing k would use 2000 bytes, over this agent's limit of 1000 bytes" });
  // The request text arrives exactly (the guest's U+0000 and lone surrogate included), and the answer comes back exactly.
  expect(await s.call("/get", { key: weird })).toEqual({ v: { key: weird, lone: "\ud800x" } });
  expect(s.seen.at(-1)!.args).toBe(JSON.stringify({ key: weird }));
});

test("a request whose call ended with none other running is forgotten by the guest at the start of the next call", async () => {
  const s = await setup(() => ({ json: "" }));
  expect(await s.call("/forget", {})).toEqual({ ok: true });
  // Its answer arrives after the call ended: nothing runs it now.
  await Bun.sleep(50);
  expect(s.seen.map((x) => x.op)).toEqual(["kv.set"]);
  s.reset();
  expect(await s.call("/set", { v: 1 })).toEqual({ ok: true });
  // The next call's first slice tells the guest to drop it (a settle of no request, id 0), then dispatches; its own request's settle names only itself.
  expect(s.heads).toHaveLength(3);
  const [none, ...forgotten] = s.heads[0]!.split(" ");
  expect(none).toBe("0");
  expect(forgotten).toHaveLength(1);
  expect(s.heads[2]).toMatch(/^\d+$/);
  expect(Number(forgotten[0])).toBeLessThan(Number(s.heads[2]));
  // Only once.
  s.reset();
  expect(await s.call("/set", { v: 2 })).toEqual({ ok: true });
  expect(s.heads).toHaveLength(2);
  expect(s.heads[1]).toMatch(/^\d+$/);
});

test("kv writes a backend does not await, answered after their call ended, do not pile up in the guest when no later request is answered by the main thread", async () => {
  const s = await setup((op) => ({ json: op === "kv.get" ? "1" : "" }));
  const vm = (s.instance as unknown as { v: { vm: QuickJSContext } }).v.vm;
  const used = () => {
    const h = vm.runtime.computeMemoryUsage();
    const n = (vm.dump(h) as { memory_used_size: number }).memory_used_size;
    h.dispose();
    return n;
  };
  const forgotten = () => (s.instance as unknown as { forgotten: number[] }).forgotten.length;
  const burst = async () => {
    expect(await s.call("/burst", { n: 20 })).toEqual({ ok: true });
    // The answers come after the call ended, with no call running: dropped.
    await Bun.sleep(15);
    expect(forgotten()).toBeLessThanOrEqual(20);
  };
  for (let i = 0; i < 5; i++) await burst();
  const before = used();
  for (let i = 0; i < 50; i++) await burst();
  // 1000 requests: each kept ~900 bytes of the guest's heap (its map entry, promise and async frame) until a request was answered while its call ran.
  expect(used() - before).toBeLessThan(100_000);
});

test("a guest that hands the host something other than text where it reads text gives its ToString, never a host-made copy of its object", async () => {
  const s = await setup((op, args) => {
    try {
      parseHostCall(op, args, undefined, defaultLimits);
      return { json: "" };
    } catch (e) {
      return e as Error;
    }
  });
  // A request's arguments, an array of 1000 arrays: its ToString (999 commas) is not its length long, so the host read it again — as the JSON of the array, which it parsed into 1000 arrays of its own and posted to the main thread (which deserializes all of it before refusing it: ~0.5 s of its event loop for 2M).
  expect(await s.call("/tampered", { n: 1000 })).toEqual({ thrown: true, message: "kv.set: arguments are not JSON" });
  expect(s.seen.at(-1)).toEqual({ op: "kv.set", args: ",".repeat(999) });
  // A log line whose text the guest made an object (its `length` 0: the log's byte cap did not count it).
  expect(await s.call("/logobj", {})).toEqual({ ok: true });
  expect(s.logs()).toMatchObject([{ level: "log", message: "[object Object]" }]);
});
