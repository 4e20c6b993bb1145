import { expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineJobKind } from "../../src/jobs";
import { cleanupAfterEach, exec, queueOn, sleep } from "./setup";

cleanupAfterEach();

function tracked(kind: string, opts: { ms?: number; concurrency?: number } = {}) {
  const stats = { now: 0, max: 0, runs: new Map<string, number>() };
  const def = defineJobKind({
    kind,
    payload: Type.Object({ n: Type.Integer() }),
    timeoutMs: 5_000,
    maxAttempts: 1,
    backoff: { baseMs: 10, maxMs: 10 },
    concurrency: opts.concurrency,
    async handler({ job }) {
      stats.runs.set(job.id, (stats.runs.get(job.id) ?? 0) + 1);
      stats.max = Math.max(stats.max, ++stats.now);
      await sleep(opts.ms ?? 15);
      stats.now--;
    },
  });
  return { def, stats };
}

test("20 jobs with concurrency 3 never run more than 3 at once", async () => {
  // 50 ms jobs: claiming a job is a transaction (on PostgreSQL a few round trips), and with
  // 15 ms jobs on a loaded machine the first job could end before the third was claimed, so
  // the three slots were never full at once (a clean-clone CI saw max 2 on PostgreSQL).
  const { def, stats } = tracked("work", { ms: 50 });
  const q = (await queueOn(undefined, { concurrency: 3 })).register(def);
  const ids = await Promise.all(Array.from({ length: 20 }, async (_, n) => (await q.enqueue("work", { n })).id));
  let observed = 0;
  const sampler = setInterval(() => (observed = Math.max(observed, q.running().length)), 2);
  q.start();
  for (const id of ids) expect((await q.waitFor(id, 5_000)).status).toBe("completed");
  clearInterval(sampler);
  expect(stats.max).toBe(3);
  expect(observed).toBeLessThanOrEqual(3);
  expect([...stats.runs.values()].every((n) => n === 1)).toBe(true);
  expect(stats.runs.size).toBe(20);
});

test("per-kind limit holds inside the global one", async () => {
  const slow = tracked("slow", { concurrency: 1, ms: 30 });
  const fast = tracked("fast", { ms: 30 });
  const q = (await queueOn(undefined, { concurrency: 3 })).register(slow.def).register(fast.def);
  const ids = [...(await Promise.all(Array.from({ length: 4 }, async (_, n) => (await q.enqueue("slow", { n })).id))), ...(await Promise.all(Array.from({ length: 6 }, async (_, n) => (await q.enqueue("fast", { n })).id)))];
  q.start();
  for (const id of ids) await q.waitFor(id, 5_000);
  expect(slow.stats.max).toBe(1);
  expect(fast.stats.max).toBe(2); // the third global slot is held by the one slow job
});

test("two queues on the same file never run the same job", async () => {
  const shared = { now: 0, max: 0, runs: new Map<string, string[]>() };
  const make = (name: string) =>
    defineJobKind({
      kind: "work",
      payload: Type.Object({ n: Type.Integer() }),
      timeoutMs: 5_000,
      maxAttempts: 1,
      backoff: { baseMs: 10, maxMs: 10 },
      async handler({ job }) {
        shared.runs.set(job.id, [...(shared.runs.get(job.id) ?? []), name]);
        await sleep(3);
      },
    });
  const a = (await queueOn(undefined, { concurrency: 4, pollMs: 5 })).register(make("a"));
  const b = (await queueOn(a.location, { concurrency: 4, pollMs: 5 })).register(make("b"));
  const ids = await Promise.all(Array.from({ length: 60 }, async (_, n) => (await a.enqueue("work", { n })).id));
  a.start();
  b.start();
  for (const id of ids) expect((await a.waitFor(id, 10_000)).status).toBe("completed");
  expect(shared.runs.size).toBe(60);
  const doubled = [...shared.runs.entries()].filter(([, who]) => who.length !== 1);
  expect(doubled).toEqual([]);
  const byB = [...shared.runs.values()].filter((w) => w[0] === "b").length;
  expect(byB).toBeGreaterThan(0); // both queues really competed
  expect(byB).toBeLessThan(60);
});

test("one workspace's jobs never take the last free slot: another workspace's job starts at once, and goes first when slots free", async () => {
  const started: { ws: string; at: number }[] = [];
  const def = defineJobKind({
    kind: "gen",
    payload: Type.Object({ ws: Type.String() }),
    timeoutMs: 5_000,
    maxAttempts: 1,
    backoff: { baseMs: 10, maxMs: 10 },
    async handler({ job }) {
      started.push({ ws: (job.payload as { ws: string }).ws, at: performance.now() });
      await sleep(400); // waiting on the model, say
    },
  });
  const q = (await queueOn(undefined, { concurrency: 3 })).register(def);
  await exec(q.db, "INSERT INTO workspaces (id, name) VALUES ('ws_a', 'a'), ('ws_b', 'b')");
  const a: string[] = [];
  for (let i = 0; i < 6; i++) a.push((await q.enqueue("gen", { ws: "a" }, { workspaceId: "ws_a" })).id);
  q.start();
  await sleep(100);
  expect(q.running().length).toBe(2); // the third slot is kept for a workspace with nothing running
  const t0 = performance.now();
  const b = (await q.enqueue("gen", { ws: "b" }, { workspaceId: "ws_b" })).id;
  const b2 = (await q.enqueue("gen", { ws: "b" }, { workspaceId: "ws_b" })).id;
  for (const id of [...a, b, b2]) expect((await q.waitFor(id, 10_000)).status).toBe("completed");
  const firstB = started.find((s) => s.ws === "b")!;
  expect(firstB.at - t0).toBeLessThan(200);
  // A's first two end: A (none running) goes before B (one running), and the last slot stays
  // free for an idle workspace; B's first ends: B's second goes before A's remaining ones.
  expect(started.map((s) => s.ws).join("")).toBe("aababaaa");
});

test("a kind with slots of its own runs while long jobs hold every shared slot, within its own limit", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const long = defineJobKind({
    kind: "long",
    payload: Type.Object({ n: Type.Integer() }),
    timeoutMs: 10_000,
    maxAttempts: 1,
    backoff: { baseMs: 10, maxMs: 10 },
    handler: () => held,
  });
  const quick = tracked("quick", { concurrency: 2, ms: 40 });
  const q = (await queueOn(undefined, { concurrency: 2 })).register(long).register({ ...quick.def, ownSlots: true });
  const longIds = await Promise.all([0, 1].map(async (n) => (await q.enqueue("long", { n })).id));
  q.start();
  for (let i = 0; i < 200 && q.running().filter((r) => r.kind === "long").length < 2; i++) await sleep(5);
  expect(q.running().filter((r) => r.kind === "long").length).toBe(2); // every shared slot held
  const quickIds = await Promise.all([0, 1, 2, 3, 4].map(async (n) => (await q.enqueue("quick", { n })).id));
  for (const id of quickIds) expect((await q.waitFor(id, 3_000)).status).toBe("completed");
  expect(quick.stats.max).toBe(2); // its own limit
  expect(q.running().filter((r) => r.kind === "long").length).toBe(2); // the long ones still run
  release();
  for (const id of longIds) expect((await q.waitFor(id, 3_000)).status).toBe("completed");
});
