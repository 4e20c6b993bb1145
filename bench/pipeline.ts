/**
 * bench/pipeline.ts — how long a generation spends outside the model: queue pickup,
 * bundle, validation in the sandbox, save and deploy, with the fake model answering at
 * once. Measured per job from its events (created → first running → done), minus the time
 * the model calls took as seen by the fake server. Baseline in the same run: one bundle +
 * one sandbox call of the same backend done directly, without the queue or the pipeline.
 *
 *   bun bench/pipeline.ts [--jobs 15]
 */
import { startFakeOpenAI } from "../test/fakes/fake-openai";
import { leadSpec } from "../test/fixtures/lead-spec";
import { leadCode } from "../test/fixtures/lead-code";
import { startServer } from "../test/harness";
import { createBundler } from "../src/bundle";
import { fmt, median } from "./lib/load";

const args = process.argv.slice(2);
const N = Number(args[args.indexOf("--jobs") + 1] || 15);
const fake = startFakeOpenAI();
let modelMs = 0;
fake.respond((call) => (call.system.includes("[cantrip:plan]") ? { json: leadSpec } : { content: "```ts\n" + leadCode + "\n```" }));
const s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_JOB_CONCURRENCY: "1" });

const outside: number[] = [];
const pickup: number[] = [];
try {
  for (let i = 0; i < N; i++) {
    const callsBefore = fake.calls.length;
    const r = await s.json("/v1/generate", {
      method: "POST",
      json: { name: `Bench ${i}`, prompt: "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.", autoDeploy: true },
    });
    const jobId = r.body.data.job.id;
    const job = await s.app.internals.queue.waitFor(jobId, 30_000);
    if (job.status !== "completed") throw new Error(`job ${jobId} ${job.status}: ${JSON.stringify(job.failure)}`);
    const events = await s.app.internals.queue.events(jobId);
    const running = events.find((e) => e.type === "status" && e.message === "running")!;
    const done = events.find((e) => e.type === "status" && e.message === "completed")!;
    // Model time as the pipeline saw it: the model-call log lines carry latencyMs.
    modelMs = events.filter((e) => e.type === "log" && /^model call/.test(e.message ?? "")).reduce((n, e) => n + ((e.data as { latencyMs?: number })?.latencyMs ?? 0), 0);
    outside.push(done.at - job.createdAt - modelMs);
    pickup.push(running.at - job.createdAt);
    void callsBefore;
  }
  // Baseline: the same backend bundled and called once, directly.
  const bundler = createBundler({ dataDir: s.dataDir });
  const base: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await bundler.tryBundle({ files: { "backend.ts": leadCode.replace("score = 20", `score = ${20 + i}`) }, entrypoint: "backend.ts" });
    base.push(performance.now() - t0);
  }
  await bundler.close();
  console.log(`generations: ${N}, fake model answering at once, job concurrency 1`);
  console.log(`queue pickup (created → running)        median ${fmt(median(pickup), 1)} ms`);
  console.log(`outside the model (created → deployed)  median ${fmt(median(outside), 1)} ms   (target <= 150 ms)`);
  console.log(`baseline: one esbuild bundle alone      median ${fmt(median(base), 1)} ms`);
  console.log(`ratio: pipeline overhead = ${fmt(median(outside) / median(base), 1)}x one bare bundle`);
} finally {
  await s.stop();
  await fake.stop();
}
// The in-process server leaves a handle behind after stop() (so did c935a4e); the bench is done.
process.exit(0);
