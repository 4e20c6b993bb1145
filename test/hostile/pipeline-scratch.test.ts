/**
 * Model-written code during generation (threat model: model output is data until
 * validated; issue 20: generation never reaches real hosts or live data). The module's
 * top-level code runs whenever it is loaded, and after validation the pipeline loads the
 * candidate once more to describe it, under the live agent's runtime config (its id, so
 * its secrets, and the real network) instead of the scratch world's.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { todoCode, todoPrompt, todoSpec } from "../fixtures/scratch-backends";

const stepOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1] ?? "unknown";

let fake: FakeOpenAI;
let s: TestServer;
let upstream: ReturnType<typeof Bun.serve>;
const hits: string[] = [];

beforeAll(async () => {
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      hits.push(new URL(req.url).pathname);
      return Response.json({ ok: true });
    },
  });
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MAX_REPAIRS: "0", CANTRIP_EGRESS_ALLOW_HOSTS: "127.0.0.1" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
  upstream.stop(true);
});

test("a module that fetches at top level reaches no real host during generation (validation or the final describe)", async () => {
  const host = `http://127.0.0.1:${upstream.port}`;
  const spec = { ...todoSpec, externalHosts: [host] };
  const code = `fetch("${host}/top-level-during-generation").catch(() => {});\n` + todoCode;
  fake.respond((call) => {
    const step = stepOf(call);
    if (step === "plan") return { json: spec };
    if (step === "code") return { content: "```ts\n" + code + "```" };
    return undefined;
  });
  const r = await s.json("/v1/generate", { method: "POST", json: { name: "Top Level Fetch", prompt: todoPrompt, autoDeploy: false } });
  expect(r.status).toBe(202);
  const job = await s.app.internals.queue.waitFor(r.body.data.job.id, 60_000);
  expect(job.status).toBe("completed");
  // Held on the old code too: host calls made while a module loads are refused ("the call
  // has ended"), in both engines, so the describe load under the live config reaches nothing.
  // A guard: if loads ever get a bridge, that load must get the scratch config as well.
  expect(hits).toEqual([]);
});
