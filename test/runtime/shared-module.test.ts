/**
 * Sandbox workers share one compiled QuickJS module (issue 15, cold start): the first worker
 * compiles it and posts it back; the heavy-lane worker, the load worker and every worker that
 * replaces a killed one start from that module instead of compiling their own (JavaScriptCore
 * keeps the tiered-up code with the module, so their first interpreter comes several times
 * sooner). Real workers; the calls on each lane and after a watchdog kill still answer.
 */
import { afterAll, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime/quickjs/engine";
import { sharedWasmModule } from "../../src/runtime/spawn-worker";
import { bundle, makeHarness } from "./harness";

const h = makeHarness(quickjsEngine, {}, { workers: 2 });
afterAll(() => h.close());

const hello = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": { handle: async () => ({ ok: true }) } } });`;
/** `/search` is one native call of ~0.5 s (a naive substring search, no interrupt poll): past a 100 ms CPU limit only the watchdog's kill stops it. */
const search = `export default { async fetch(req) {
  if (new URL(req.url).pathname === "/search") return new Response(String("a".repeat(400000).indexOf("a".repeat(2000) + "b")));
  return new Response("up");
} };`;

const get = (path = "/") => ({ method: "GET", url: `http://x.cantrip.internal${path}`, headers: [] as [string, string][], body: null });

test("the heavy and load workers and a killed worker's replacement start from the first worker's module", async () => {
  const light = h.ref("light-agent", await bundle(hello));
  expect((await h.runtime.fetch(light, get())).status).toBe(200);
  // The load worker (started on first use) runs the check; the light worker answers the call.
  expect((await h.runtime.check(h.ref("checked-agent", await bundle(hello)))).routes.length).toBe(1);
  const first = sharedWasmModule();
  expect(first.module).toBeInstanceOf(WebAssembly.Module);
  expect(first.workersStarted).toBeGreaterThanOrEqual(2); // the heavy-lane worker and the load worker

  // A runaway call is killed by the watchdog; its worker's replacement starts from the module and serves.
  const runaway = h.ref("runaway-agent", await bundle(search), { limits: { cpuMs: 100, wallMs: 5000 } });
  const kills = h.runtime.stats().watchdogKills;
  await expect(h.runtime.fetch(runaway, get("/search"))).rejects.toMatchObject({ code: expect.any(String) });
  expect(h.runtime.stats().watchdogKills).toBe(kills + 1);
  expect((await h.runtime.fetch(light, get())).status).toBe(200);
  expect((await h.runtime.fetch(runaway, get())).status).toBe(200);
  expect(sharedWasmModule().workersStarted).toBeGreaterThan(first.workersStarted);
  expect(sharedWasmModule().module).toBe(first.module);
});
