/**
 * Many calls posted to one sandbox worker in the same event-loop turn: every call gets its own
 * answer, and a structured message posted right after them (here: the instance's dispose)
 * reaches the worker after them, so calls already sent are answered. (A guard for the order
 * of the main thread's messages; an experiment that batched them per turn had to keep it.)
 */
import { afterAll, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime/quickjs/engine";
import { defaultLimits, type BundleRef, type CallBridge } from "../../src/runtime";
import { bundle } from "./harness";

const engine = quickjsEngine({ workers: 1, memoryBytes: defaultLimits.memoryBytes });
afterAll(() => engine.close());

const ECHO = `export default { fetch: async (req) => new Response(JSON.stringify({ got: await req.text(), url: req.url })) };`;
const noBridge = (): CallBridge => ({ call: async () => ({ json: "null" }) }) as unknown as CallBridge;
const limits = { ...defaultLimits, cpuMs: 1000, wallMs: 5000 };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function load(): Promise<Awaited<ReturnType<typeof engine.load>>> {
  const ref = { agentId: "batch", code: await bundle(ECHO), bundleId: "b1", config: { agentId: "batch", limits, allowedHosts: [], secrets: [] } } as unknown as BundleRef;
  return engine.load({ ref, limits, bridge: noBridge });
}

test("calls sent in one turn are each answered with their own response", async () => {
  const inst = await load();
  const calls = Array.from({ length: 40 }, (_, i) => inst.fetch({ method: "POST", url: `http://batch.cantrip.internal/${i}`, headers: [], body: enc(`body ${i}`) }));
  const answers = await Promise.all(calls);
  answers.forEach((r, i) => {
    expect(r.status).toBe(200);
    expect(JSON.parse(dec(r.body))).toEqual({ got: `body ${i}`, url: `http://batch.cantrip.internal/${i}` });
  });
  inst.dispose();
});

test("a dispose posted right after calls in the same turn reaches the worker after them", async () => {
  const inst = await load();
  const calls = Array.from({ length: 5 }, (_, i) => inst.fetch({ method: "POST", url: "http://batch.cantrip.internal/", headers: [], body: enc(String(i)) }));
  inst.dispose();
  const answers = await Promise.all(calls);
  expect(answers.map((r) => JSON.parse(dec(r.body)).got)).toEqual(["0", "1", "2", "3", "4"]);
  // Gone afterwards.
  await expect(inst.fetch({ method: "POST", url: "http://batch.cantrip.internal/", headers: [], body: null })).rejects.toThrow();
});
