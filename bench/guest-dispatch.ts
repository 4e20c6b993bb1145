/**
 * bench/guest-dispatch.ts — the worker side of one invoke call, run on the main thread so it
 * can be timed and profiled (`bun --cpu-prof-md bench/guest-dispatch.ts`; a Worker is not
 * seen by the profiler). Loads bench/invoke.ts's trivial backend into a real interpreter
 * (vm-factory.ts + QjsInstance, as the worker does) and times, in µs per call (median of
 * rounds of N calls each):
 *   - the whole QjsInstance.fetch (what the worker does per call between its messages);
 *   - the same dispatch looped inside the guest (no host FFI per call);
 *   - guest pieces evaluated in the same interpreter in tight loops: the metadata parse,
 *     the incoming Request, the route's handler through the SDK, Response.json, the
 *     response metadata — so the guest-side µs can be attributed.
 * Usage: bun bench/guest-dispatch.ts [--calls 3000] [--rounds 5]
 */
import { wasmPath } from "../src/runtime/quickjs/wasm-build";
import { SparePool, setWasmModule } from "../src/runtime/quickjs/vm-factory";
import { QjsInstance } from "../src/runtime/quickjs/instance";
import { defaultLimits } from "../src/runtime";
import { numberOpt } from "./lib/args";

const calls = numberOpt("calls", 3000);
const rounds = numberOpt("rounds", 5);
const med = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1]!;

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));
const spares = new SparePool(0, defaultLimits.memoryBytes);

const TRIVIAL = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0 }) } },
});
`;
const config = { agentId: "bench", env: {}, secrets: [] };
const bridge = async () => ({ json: "null" });
const { instance } = await QjsInstance.load(spares, 1, "bench.js", TRIVIAL, defaultLimits, config, bridge, () => {});
/** The same call with less guest work: the floor of the glue alone, and a plain fetch handler. */
const VARIANTS: Record<string, string> = {
  "fetch handler returning one shared Response": `const r = new Response('{"ok":true,"n":1}', { headers: { "content-type": "application/json" } }); export default { fetch: () => r };`,
  "fetch handler: await req.json(), Response.json": `export default { fetch: async (req) => { const b = await req.json(); return Response.json({ ok: true, n: b.n ?? 0 }); } };`,
  "SDK route without input schema": `import { defineBackend } from "cantrip"; export default defineBackend({ routes: { "POST /": async (input) => ({ ok: true, n: input.n ?? 0 }) } });`,
};
const variants: [string, QjsInstance][] = [];
for (const [name, code] of Object.entries(VARIANTS)) variants.push([name, (await QjsInstance.load(spares, 2, "v.js", code, defaultLimits, config, bridge, () => {})).instance]);

let id = 10;
const metaFor = (call: number) => JSON.stringify({ method: "POST", url: "http://bench.cantrip.internal/", headers: [["content-type", "application/json"], ["x-request-id", "0123456789abcdef01234567"]], call });

async function timeFetch(inst = instance): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < calls; i++) {
    const r = await inst.fetch(++id, metaFor(id), '{"n":1}');
    if (typeof r.res.body !== "string") throw new Error("unexpected body");
  }
  return ((performance.now() - t) * 1000) / calls;
}

// The guest pieces, in the same kind of interpreter (a fresh one: the instance's own is in use).
const { vm, rt } = await spares.take(defaultLimits.memoryBytes);
const pieces: Record<string, string> = {
  "empty loop": ``,
  "JSON.parse(meta)": `JSON.parse(META)`,
  "new Request (incoming-like)": `new Request("http://bench.cantrip.internal/", { method: "POST", headers: [["content-type","application/json"],["x-request-id","0123456789abcdef01234567"]], body: '{"n":1}' })`,
  "new URL(url)": `new URL("http://bench.cantrip.internal/")`,
  "JSON.parse(body)": `JSON.parse('{"n":1}')`,
  "Response.json(out)": `Response.json({ ok: true, n: 1 })`,
  "new Response(text)": `new Response('{"ok":true,"n":1}')`,
  "new Headers(2 pairs)": `new Headers([["content-type","application/json"],["x-request-id","0123456789abcdef01234567"]])`,
  "response meta JSON": `JSON.stringify({ status: 200, headers: [["content-type","application/json"]] })`,
  "new AbortController().signal": `new AbortController().signal`,
  "async fn + await": `(async () => { await 1; })()`,
  "3 nested async fns, each awaiting": `(async () => { await (async () => { await (async () => { await 1; })(); })(); })()`,
  "JSON.stringify(result)": `JSON.stringify({ ok: true, n: 1 })`,
  "ctx eager (kv, fetch, log made)": `CTX_EAGER(7)`,
  "ctx lazy (kv, fetch, log on first read)": `CTX_LAZY(7)`,
};
const META = JSON.stringify(metaFor(1));
const CTX_DEFS = `
const hc = (op, a, b, c) => Promise.resolve(null);
const kvFor = (call) => ({ get: (key) => hc("kv.get", { key }, undefined, call), set: (key, value) => hc("kv.set", { key, value }, undefined, call), delete: (key) => hc("kv.delete", { key }, undefined, call), list: (o = {}) => hc("kv.list", o, undefined, call) });
const logFor = (call) => { const at = (level) => (...a) => hc(level, a, call); const info = at("info"); return Object.assign((...a) => info(...a), { debug: at("debug"), info, warn: at("warn"), error: at("error") }); };
const fetchAs = (call) => (i, n) => hc("fetch", i, n, call);
const ENV = { A: "1" }; const secrets = {};
const CTX_EAGER = (call) => { let req, sp, hr = false, hs = false; return { get request() { if (!hr) { req = 1; hr = true; } return req; }, set request(v) { req = v; hr = true; }, params: {}, query: {}, get searchParams() { if (!hs) { sp = 1; hs = true; } return sp; }, set searchParams(v) { sp = v; hs = true; }, env: { ...ENV }, kv: kvFor(call), fetch: fetchAs(call), secrets, log: logFor(call), agentId: "a" }; };
const CTX_LAZY = (call) => { let req, sp, env, kv, f, log, hr = false, hs = false, he = false, hk = false, hf = false, hl = false; return { get request() { if (!hr) { req = 1; hr = true; } return req; }, set request(v) { req = v; hr = true; }, params: {}, query: {}, get searchParams() { if (!hs) { sp = 1; hs = true; } return sp; }, set searchParams(v) { sp = v; hs = true; }, get env() { if (!he) { env = { ...ENV }; he = true; } return env; }, set env(v) { env = v; he = true; }, get kv() { if (!hk) { kv = kvFor(call); hk = true; } return kv; }, set kv(v) { kv = v; hk = true; }, get fetch() { if (!hf) { f = fetchAs(call); hf = true; } return f; }, set fetch(v) { f = v; hf = true; }, secrets, get log() { if (!hl) { log = logFor(call); hl = true; } return log; }, set log(v) { log = v; hl = true; }, agentId: "a" }; };
`;
function timePiece(code: string): number {
  const src = `(() => { const META = ${META}; ${CTX_DEFS} const t = Date.now(); for (let i = 0; i < ${calls}; i++) { ${code}; } return 0; })()`;
  const t = performance.now();
  const r = vm.evalCode(src, "piece.js", { type: "global" });
  rt.executePendingJobs(-1);
  const el = performance.now() - t;
  if (r.error) {
    const e = vm.dump(r.error);
    r.error.dispose();
    throw new Error(`${code}: ${JSON.stringify(e)}`);
  }
  r.value.dispose();
  return (el * 1000) / calls;
}

await timeFetch(); // warm
const fetchUs: number[] = [];
for (let r = 0; r < rounds; r++) fetchUs.push(await timeFetch());
console.log(`${"QjsInstance.fetch (whole worker-side call)".padEnd(44)} ${med(fetchUs).toFixed(1)} µs  (rounds: ${fetchUs.map((x) => x.toFixed(1)).join(", ")})`);
for (const [name, inst] of variants) {
  await timeFetch(inst);
  const xs: number[] = [];
  for (let r = 0; r < rounds; r++) xs.push(await timeFetch(inst));
  console.log(`  variant: ${name.padEnd(50)} ${med(xs).toFixed(1)} µs`);
}
for (const [name, code] of Object.entries(pieces)) {
  timePiece(code);
  const xs = Array.from({ length: rounds }, () => timePiece(code));
  console.log(`  guest: ${name.padEnd(36)} ${med(xs).toFixed(1)} µs`);
}

// The same dispatch driven by a loop inside the guest: one host call for `calls` dispatches,
// so the host's FFI work per call (handles, strings, job pump) is not in it. Measured at or
// above the whole call above: the cost is the guest's own code, not the crossing (issue 15).
{
  const inst = instance as any;
  const gvm = inst.v.vm;
  const loopFn = gvm.unwrapResult(gvm.evalCode(`(async (d, b, meta, n) => { for (let i = 0; i < n; i++) { const r = await d(b, meta, '{"n":1}'); if (typeof r[1] !== "string") throw new Error("x"); } })`, "loop.js", { type: "global" }));
  const once = () => {
    const t = performance.now();
    const p = gvm.unwrapResult(gvm.callFunction(loopFn, gvm.undefined, inst.fns.dispatch, inst.backend, gvm.newString(metaFor(5)), gvm.newNumber(calls)));
    inst.v.rt.executePendingJobs(-1);
    const st = gvm.getPromiseState(p);
    if (st.type !== "fulfilled") throw new Error("loop " + st.type + JSON.stringify(st.error && gvm.dump(st.error)));
    p.dispose();
    return ((performance.now() - t) * 1000) / calls;
  };
  once();
  const xs = Array.from({ length: rounds }, once);
  console.log(`  in-guest dispatch loop (no host FFI)                 ${med(xs).toFixed(1)} µs`);
}
