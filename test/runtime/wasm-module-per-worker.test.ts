/**
 * Every sandbox worker compiles its own QuickJS WebAssembly module (spawn-worker.ts). A module
 * shared between workers carries JavaScriptCore's per-function tier-up state, and a worker that
 * ends (closed, retired, killed by the watchdog) while one of its tier-up compiles is still
 * queued leaves that function marked "compiling" for good: every other worker holding the
 * module then ran it in a slower tier (BBQ, or the IPInt interpreter) for the rest of the
 * process — a killed call's zombie thread for minutes instead of seconds, and ordinary calls
 * 2–20× slower. Real workers and real calls; the comparison is with the same search on a
 * freshly compiled module in the same run (thread CPU time, so it holds on a busy machine).
 */
import { afterAll, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime/quickjs/engine";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import { variant, wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { threadClock } from "../../src/runtime/quickjs/thread-clock";
import { bundle, json, makeHarness, req, type Harness } from "./harness";

const hello = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": { handle: async () => ({ ok: true }) } } });`;
/** `/search` is one native call of ~0.5 s (a naive substring search, no interrupt poll): past a 100 ms CPU limit only the watchdog's kill stops it. */
const runawaySource = `export default { async fetch(req) {
  if (new URL(req.url).pathname === "/search") return new Response(String("a".repeat(400000).indexOf("a".repeat(2000) + "b")));
  return new Response("up");
} };`;
/** A naive substring search of n characters for an m+1-character needle: about n·m comparisons in one WebAssembly call. */
const searchSource = `import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /search": { input: t.Object({ n: t.Number(), m: t.Number() }), handle: ({ n, m }) => ({ at: "a".repeat(n).indexOf("a".repeat(m) + "b") }) },
} });`;

const get = (path = "/") => ({ method: "GET", url: `http://x.cantrip.internal${path}`, headers: [] as [string, string][], body: null });
const opened: Harness[] = [];
afterAll(async () => {
  for (const h of opened) await h.close();
});

const WARM = { n: 20_000, m: 100 };
/** 8·10^8 comparisons: ~0.4 s of CPU at full speed here. */
const MEASURED = { n: 200_000, m: 4_000 };

/**
 * Warms the search on a new one-worker runtime (the optimising tier lands), then runs the
 * measured search up to `attempts` times and returns the least guest CPU (ms), stopping at the
 * first under `goalMs`. A machine busy with other work can delay JavaScriptCore's tier-up
 * compile past the warm-up; a function stuck "compiling" by a shared module stays slow for good.
 */
async function workerSearchCpuMs(code: string, goalMs: number, attempts = 6): Promise<number> {
  const h = makeHarness(quickjsEngine, {}, { workers: 1 });
  opened.push(h);
  const ref = h.ref("search-after-churn", code, { limits: { cpuMs: 10_000, wallMs: 30_000 } });
  for (let i = 0; i < 200; i++) expect(json(await h.runtime.fetch(ref, req("POST", "/search", WARM)))).toEqual({ at: -1 });
  let best = Infinity;
  for (let i = 0; i < attempts && best >= goalMs; i++) {
    const r = await h.runtime.fetch(ref, req("POST", "/search", MEASURED));
    expect(json(r)).toEqual({ at: -1 });
    best = Math.min(best, r.cpuMs);
  }
  return best;
}

/**
 * The same warm-up and search on this thread, in a QuickJS made from a module compiled here
 * and now (no worker ever held it): the same-run baseline of full speed. CPU of this thread (ms), the least of `rounds` measured searches.
 */
async function freshModuleSearchCpuMs(rounds = 3): Promise<number> {
  const wasmModule = new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer());
  const qjs = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 2048 }) }));
  const vm = qjs.newContext();
  const search = ({ n, m }: { n: number; m: number }) => vm.getNumber(vm.unwrapResult(vm.evalCode(`"a".repeat(${n}).indexOf("a".repeat(${m}) + "b")`)));
  // The sandbox's own thread clock (exact; process.threadCpuUsage moves in 4 ms ticks here,
  // and a fallback to wall time would count a loaded machine's waits as this side's CPU).
  const clock = threadClock();
  expect(clock.precise).toBe(true);
  try {
    for (let i = 0; i < 200; i++) expect(search(WARM)).toBe(-1);
    let best = Infinity;
    for (let i = 0; i < rounds; i++) {
      const t0 = clock.read();
      expect(search(MEASURED)).toBe(-1);
      best = Math.min(best, clock.read() - t0);
    }
    return best;
  } finally {
    vm.dispose();
  }
}

test("workers that end just after hot calls leave a later worker's WebAssembly at full speed", async () => {
  const code = await bundle(searchSource);
  // 30 runtimes that run the search hot and are closed at once: their workers end while
  // tier-up compiles they queued may still wait for JavaScriptCore's compiler thread.
  for (let i = 0; i < 30; i++) {
    const c = makeHarness(quickjsEngine, {}, { workers: 2 });
    for (let a = 0; a < 4; a++) {
      const ref = c.ref(`churn-${a}`, code);
      for (let k = 0; k < 5; k++) expect(json(await c.runtime.fetch(ref, req("POST", "/search", { n: 2_000, m: 10 })))).toEqual({ at: -1 });
    }
    await c.close();
  }
  const fresh = await freshModuleSearchCpuMs();
  const after = await workerSearchCpuMs(code, fresh * 1.8);
  // With one module shared by all workers: 2.5–3× (BBQ) on every attempt, or past the 10 s limit
  // (the interpreter). A single attempt was not enough under CI's load: 2.9× once, with per-worker
  // modules, where the tier-up compile had not landed yet.
  expect(after).toBeLessThan(fresh * 1.8);
}, 120_000);

test("the heavy and load workers and a killed worker's replacement start, none given a compiled module, and answer", async () => {
  // Every message the main thread posts to a worker meanwhile (the inits among them).
  const posted: unknown[] = [];
  const postMessage = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, message: unknown, options?: StructuredSerializeOptions) {
    posted.push(message);
    return postMessage.call(this, message, options);
  } as Worker["postMessage"];
  try {
    const h = makeHarness(quickjsEngine, {}, { workers: 2 });
    opened.push(h);
    const light = h.ref("light-agent", await bundle(hello));
    expect((await h.runtime.fetch(light, get())).status).toBe(200);
    // The load worker (started on first use) runs the check; the light worker answers the call.
    expect((await h.runtime.check(h.ref("checked-agent", await bundle(hello)))).routes.length).toBe(1);
    // A runaway call is killed by the watchdog; its worker's replacement starts and serves.
    const runaway = h.ref("runaway-agent", await bundle(runawaySource), { limits: { cpuMs: 100, wallMs: 5000 } });
    const kills = h.runtime.stats().watchdogKills;
    await expect(h.runtime.fetch(runaway, get("/search"))).rejects.toMatchObject({ code: expect.any(String) });
    expect(h.runtime.stats().watchdogKills).toBe(kills + 1);
    expect((await h.runtime.fetch(light, get())).status).toBe(200);
    expect((await h.runtime.fetch(runaway, get())).status).toBe(200);
  } finally {
    Worker.prototype.postMessage = postMessage;
  }
  const inits = posted.filter((m): m is Record<string, unknown> => typeof m === "object" && m !== null && (m as { t?: unknown }).t === "init");
  expect(inits.length).toBeGreaterThanOrEqual(4); // two light, the heavy or load worker, the replacement
  expect(inits.filter((m) => Object.values(m).some((v) => v instanceof WebAssembly.Module))).toEqual([]);
});
