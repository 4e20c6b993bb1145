/**
 * Main ↔ worker messages of one event-loop turn cross as one (issue 15, wire.ts WireOutbox):
 * calls started together reach the worker in one message and their answers come back in one,
 * each call still getting its own answer; a structured message never overtakes a queued call.
 */
import { afterEach, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime";
import { bundle, json, makeHarness, req, type Harness } from "./harness";

const ECHO = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": (input) => ({ n: input.n }) } });`;

let H: Harness | undefined;
const restore: (() => void)[] = [];
afterEach(async () => {
  for (const r of restore.splice(0)) r();
  await H?.close();
  H = undefined;
});

/** Counts the string messages the main thread posts to sandbox workers, and those it receives from them. */
function countMessages() {
  const counts = { sent: 0, received: 0 };
  const seen = new WeakSet<Worker>();
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, m: unknown, ...rest: unknown[]) {
    if (typeof m === "string") counts.sent++;
    if (!seen.has(this)) {
      seen.add(this);
      this.addEventListener("message", (ev) => {
        if (typeof (ev as MessageEvent).data === "string") counts.received++;
      });
    }
    return (post as (...a: unknown[]) => void).call(this, m, ...rest);
  } as typeof post;
  restore.push(() => (Worker.prototype.postMessage = post));
  return counts;
}

test("ten calls started in one turn reach the worker in one or a few messages and are answered in as few, each with its own answer", async () => {
  const counts = countMessages();
  H = makeHarness(quickjsEngine, {}, { scheduling: { agentConcurrency: 16 } });
  const ref = H.ref("batch", await bundle(ECHO));
  expect(json(await H.runtime.fetch(ref, req("POST", "/", { n: -1 })))).toEqual({ n: -1 }); // warm: the instance is loaded
  counts.sent = counts.received = 0;
  const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => H!.runtime.fetch(ref, req("POST", "/", { n }))));
  expect(answers.map(json)).toEqual(Array.from({ length: 10 }, (_, n) => ({ n })));
  // One message each way per call before: 10 and 10. (The calls reach the engine through a few
  // awaits each, so a call may fall into the next turn's batch.)
  expect(counts.sent).toBeLessThanOrEqual(3);
  expect(counts.received).toBeLessThanOrEqual(3);
});

test("a call queued in the turn's batch is not overtaken by a structured message posted after it (the instance's disposal)", async () => {
  H = makeHarness(quickjsEngine);
  const ref = H.ref("order", await bundle(ECHO));
  expect(json(await H.runtime.fetch(ref, req("POST", "/", { n: 0 })))).toEqual({ n: 0 });
  // The call is queued for the end of this turn; the eviction posts `dispose` for the instance
  // at once when it is idle — it is not: the call holds it, so it retires after the call.
  const call = H.runtime.fetch(ref, req("POST", "/", { n: 1 }));
  H.runtime.evict("order");
  expect(json(await call)).toEqual({ n: 1 });
});
