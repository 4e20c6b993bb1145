/**
 * Hostile model replies (threat model promises 1, 2 and 7: a model's answer is data, it
 * may not stall the event loop or grow memory without bound). Each reply is the smallest
 * that broke the old pipeline, sent by the fake model server over real HTTP to a real
 * server; a bystander (GET /healthz, polled every 25 ms) must keep answering during the
 * job, and the job must end with a catalogue code.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rawCompletion, startFakeOpenAI, type FakeOpenAI, type RecordedCall, type Step } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { leadSpec } from "../fixtures/lead-spec";

const SEED = "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.";
const stepOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1] ?? "unknown";

/**
 * The bystander's worst wait that still counts as served (generous: the machine is shared,
 * and the old code's stalls measured 3 s to 85 s).
 */
const BYSTANDER_BOUND_MS = 2000;

let fake: FakeOpenAI;
let s: TestServer;

beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-model", CANTRIP_MODEL_TIMEOUT_MS: "20000", CANTRIP_MAX_REPAIRS: "0" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

function answer(by: Partial<Record<"plan" | "code" | "repair", Step>>) {
  fake.respond((call) => by[stepOf(call) as keyof typeof by]);
}

/** Runs one generation while a bystander polls /v1/health; returns the job and the bystander's worst wait. */
async function generateWatched(name: string) {
  let worst = 0;
  let polling = true;
  const bystander = (async () => {
    // The server runs in this process, so a blocked event loop may fall between two
    // requests: the worst wait is the longest request or the longest overshoot of the pause.
    while (polling) {
      const t = performance.now();
      const r = await s.req("/healthz");
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      const answered = performance.now();
      await Bun.sleep(25);
      worst = Math.max(worst, answered - t, performance.now() - answered - 25);
    }
  })();
  try {
    const r = await s.json("/v1/generate", { method: "POST", json: { prompt: SEED, name, autoDeploy: false } });
    expect(r.status).toBe(202);
    const jobId = r.body.data.job.id as string;
    for (const until = Date.now() + 120_000; Date.now() < until; await Bun.sleep(50)) {
      const j = await s.json(`/v1/generate/${jobId}`);
      if (["completed", "failed", "cancelled"].includes(j.body.data.status)) return { job: j.body.data, worst };
    }
    throw new Error(`job ${jobId} did not finish`);
  } finally {
    polling = false;
    await bystander;
  }
}

// Each shape made the old extractor quadratic: 60 000 nested braces (120 kB) held the
// event loop ~8 s, 40 000 "<think>" openers (280 kB) ~3 s, 40 000 unclosed "```a " fences
// (200 kB) ~4 s; a 1 MB reply of any of them held it for minutes.
const stalls: [string, string][] = [
  ["nested braces that never parse", "{".repeat(60_000) + "}".repeat(60_000)],
  ["reasoning openers that never close", "<think>".repeat(40_000)],
  ["code fences with no newline", "```a ".repeat(40_000)],
  // Each JSON object found was schema-checked: two million "{}" (4 MB) held the loop ~13 s.
  ["two million empty objects", "{}".repeat(2_000_000)],
  // Held before too (kept as a guard): valid JSON a million levels deep parses in 90 ms and overflows the stack when cloned.
  ["JSON nested a million levels deep", '{"a":'.repeat(1_000_000) + "1" + "}".repeat(1_000_000)],
];

for (const [what, content] of stalls)
  test(`a plan reply of ${what} fails the job and the event loop keeps answering`, async () => {
    answer({ plan: { content } });
    const { job, worst } = await generateWatched(`Stall ${what}`);
    expect(job.status).toBe("failed");
    expect(job.failure.code).toBe("model_output_invalid");
    expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
  });

test("a code reply of unclosed reasoning and fences fails the job and the event loop keeps answering", async () => {
  answer({ plan: { json: leadSpec }, code: { content: "<think>".repeat(40_000) + "```ts\n" } });
  const { job, worst } = await generateWatched("Stall code fences");
  expect(job.status).toBe("failed");
  expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
});

test("a reply body larger than the model reply limit is cut off on arrival, not buffered whole", async () => {
  // 48 MiB of content in one chat.completion; the old client read and parsed all of it.
  const huge = rawCompletion({ content: "x".repeat(48 * 1024 * 1024) });
  answer({ plan: { raw: huge } });
  const { job, worst } = await generateWatched("Huge reply");
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("model_output_invalid");
  expect(job.failure.message).toMatch(/larger than/);
  expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
});

// The model writes both the route table and the examples. Validation matched each example
// against the described routes with a RegExp built from the route path unescaped: a route
// "GET /(a*)*b" and an example GET /aaa…a backtracked on the host's event loop until
// JavaScriptCore's backtracking limit (~330 ms per route), once per route per example, so
// 40 such routes held the loop ~13 s for one example (500 routes are allowed).
test("a route path that is a catastrophic regex, with a matching example, does not stall validation", async () => {
  const spec = {
    ...leadSpec,
    routes: [{ method: "GET", path: "/(a*)*b0", summary: "odd" }],
    examples: [{ name: "probe", request: { method: "GET", path: "/" + "a".repeat(34) }, expect: { status: 404 } }],
    invalidInputs: [],
  };
  const routes = Array.from({ length: 40 }, (_, i) => `"GET /(a*)*b${i}": () => ({ ok: true })`).join(", ");
  const code = `import { defineBackend } from "cantrip";\nexport default defineBackend({ routes: { ${routes} } });\n`;
  answer({ plan: { json: spec }, code: { content: "```ts\n" + code + "```" } });
  const { job, worst } = await generateWatched("Regex route");
  expect(["completed", "failed"]).toContain(job.status);
  expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
});

// The described output schema is the backend's (the model's) too, and validation checked
// each example's body against it on the host: a `pattern` became a RegExp (each test
// backtracks until JavaScriptCore's limit, ~330 ms), and the check had no bound on
// schema × body work (an enum of 20 000 values against 20 000 strings is 4·10^8
// JSON.stringify calls). Measured on the old code: 60 strings against "^(a*)*b$" held the
// event loop ~20 s.
const schemaCases: [string, string, string][] = [
  ["a backtracking pattern on every item", `{ type: "array", items: { type: "string", pattern: "^(a*)*b$" } }`, `Array.from({ length: 60 }, () => "a".repeat(30))`],
  ["a 20 000-value enum against 20 000 items", `{ type: "array", items: { enum: Array.from({ length: 20000 }, (_, i) => i) } }`, `Array.from({ length: 20000 }, () => "x")`],
];
for (const [what, schema, body] of schemaCases)
  test(`a declared output schema with ${what} does not stall validation`, async () => {
    const spec = { ...leadSpec, examples: [{ name: "probe", request: { method: "POST", path: "/", body: {} }, expect: { status: 200 } }], invalidInputs: [] };
    const code = `import { defineBackend } from "cantrip";\nexport default defineBackend({ routes: { "POST /": { output: ${schema} as any, handle: () => ${body} } } });\n`;
    answer({ plan: { json: spec }, code: { content: "```ts\n" + code + "```" } });
    const { job, worst } = await generateWatched(`Schema ${what}`);
    expect(["completed", "failed"]).toContain(job.status);
    expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
  });

// A plan multiplies what the backend returns: each failing assertion quoted the whole
// value it looked at, and a reference spliced into a string copies the earlier response
// once per occurrence. Measured on the old code with a 2 MB response: 40 assertions on
// the body put 80 MB of text into the job's report (stored and served with the job), and
// 300 references in one string built a 600 MB request in the host process; a thousand
// assertions or references against a 5 MB response (the default response limit) are
// gigabytes, past what a laptop survives.
const bigBackend = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: {
  "GET /big": () => ({ s: "x".repeat(2 * 1024 * 1024) }),
  "POST /echo": async (input: any) => ({ got: typeof input?.s === "string" ? input.s.length : null }),
} });
`;
test("assertions on a large response are quoted as excerpts: the job's report stays small", async () => {
  const assertions = Array.from({ length: 40 }, () => ({ path: "", equals: 0 }));
  const spec = { ...leadSpec, routes: [{ method: "GET", path: "/big", summary: "big" }], examples: [{ name: "big", request: { method: "GET", path: "/big" }, expect: { status: 200, assertions } }], invalidInputs: [] };
  answer({ plan: { json: spec }, code: { content: "```ts\n" + bigBackend + "```" } });
  const { job, worst } = await generateWatched("Assertion amplifier");
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("validation_failed");
  expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
  expect(JSON.stringify(await s.app.internals.queue.events(job.id)).length).toBeLessThan(1024 * 1024);
});

test("references that would copy a large response many times fail the example as a plan error", async () => {
  const spec = {
    ...leadSpec,
    routes: [{ method: "GET", path: "/big", summary: "big" }],
    examples: [
      { name: "big", request: { method: "GET", path: "/big" }, expect: { status: 200 } },
      { name: "amp", request: { method: "POST", path: "/echo", body: { s: "{{examples.big.body.s}}".repeat(300) } }, expect: { status: 200 } },
    ],
    invalidInputs: [],
  };
  answer({ plan: { json: spec }, code: { content: "```ts\n" + bigBackend + "```" } });
  const { job, worst } = await generateWatched("Reference amplifier");
  expect(job.status).toBe("failed");
  expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
  const events = JSON.stringify(await s.app.internals.queue.events(job.id));
  expect(events.length).toBeLessThan(1024 * 1024);
  expect(events).toContain("plan error: the references in this example expand to more than");
});

// A plan's externalHosts become the agent's allowed hosts when the version is saved, and
// skipped the bounds a caller's allowedHosts pass (50 entries of at most 253 characters);
// every guest fetch then parses each of them on the host. Measured on the old code: a plan
// with 5000 hosts was accepted and the job went on to code and validation with them.
test("a plan's external hosts pass the same bounds as a caller's allowed hosts", async () => {
  const spec = { ...leadSpec, externalHosts: Array.from({ length: 5000 }, (_, i) => `h${i}.example.com`) };
  answer({ plan: { json: spec }, code: { content: "```ts\nexport default 1;\n```" } });
  const { job } = await generateWatched("Many hosts");
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("model_output_invalid");
  expect(job.failure.message).toContain("externalHosts");
});

// The plan's summary is served to the app's callers (OpenAPI description, MCP
// instructions). Measured on the old code: a 1 MB summary was accepted and stored.
test("a plan's summary is bounded: it is served to the app's callers", async () => {
  answer({ plan: { json: { ...leadSpec, summary: "S".repeat(1_000_000) } }, code: { content: "```ts\nexport default 1;\n```" } });
  const { job } = await generateWatched("Huge summary");
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("model_output_invalid");
  expect(job.failure.message).toContain("summary");
});

// Each `contains` assertion serialised every item of the array it looked at, and each
// `equals` the whole value. Measured on the old code: 25 `contains` and 25 `equals` on a
// 2-million-item array (4 MB, under the response limit) held the event loop 1.7 s in one
// example (72 ms now); the 45 + 5 below, ~3 s.
test("assertions on a long array are checked without re-serialising it per assertion", async () => {
  const backend = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /zeros": () => new Response("[" + Array(2_000_000).fill("0").join(",") + "]", { headers: { "content-type": "application/json" } }) } });
`;
  const assertions = [...Array.from({ length: 45 }, () => ({ path: "", contains: 1 })), ...Array.from({ length: 5 }, () => ({ path: "", equals: 1 }))];
  const spec = { ...leadSpec, routes: [{ method: "GET", path: "/zeros", summary: "zeros" }], examples: [{ name: "zeros", request: { method: "GET", path: "/zeros" }, expect: { status: 200, assertions } }], invalidInputs: [] };
  answer({ plan: { json: spec }, code: { content: "```ts\n" + backend + "```" } });
  const { job, worst } = await generateWatched("Long array");
  expect(job.status).toBe("failed");
  expect(job.failure.code).toBe("validation_failed");
  expect(worst).toBeLessThan(BYSTANDER_BOUND_MS);
});
