/**
 * A builder conversation whose turn job can no longer finish (its last attempt was stopped
 * by a timeout, a cancel or a shutdown) must not stay `processing` forever: callers poll it
 * until it reaches a terminal state (threat model, promise 8: queued work resumable, nothing
 * left in a state no job will change). A model that never answers makes it happen.
 * Measured on the old code: after the turn's second attempt was interrupted, the
 * conversation answered `processing` on every restart, with its job `failed`.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startFakeOpenAI } from "../fakes/fake-openai";
import { eq } from "drizzle-orm";
import { startServer, tempDir, type TestServer } from "../harness";
import { conversations } from "../../src/db/schema";

const fake = startFakeOpenAI();
const dataDir = tempDir();
afterAll(async () => {
  await fake.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const boot = () => startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-model" }, { dataDir, keep: true });

async function untilCalls(n: number) {
  for (const end = Date.now() + 20_000; fake.calls.length < n; await Bun.sleep(20)) if (Date.now() > end) throw new Error(`the model saw ${fake.calls.length} calls, not ${n}`);
}

test("a conversation whose last turn attempt was interrupted ends failed, not processing forever", async () => {
  fake.respond(() => ({ hang: true }));
  let s: TestServer = await boot();
  const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "A todo list API with ids" } });
  expect(r.status).toBe(202);
  const uuid = r.body.data.uuid as string;
  await untilCalls(1);
  await s.stop(); // attempt 1 of 2 interrupted: requeued
  s = await boot();
  await untilCalls(2);
  await s.stop(); // attempt 2 of 2 interrupted: the job fails
  s = await boot();
  try {
    const c = (await s.json(`/api/v1/builder-agents/${uuid}`)).body.data;
    expect(c.status).toBe("failed");
    expect(c.message).toMatch(/interrupted/);
    // A bystander conversation started now is served normally.
    fake.respond(() => ({ json: { ready: false, message: "Which region?", asks: [{ id: "r", kind: "text", question: "Which region?" }], facts: {} } }));
    const b = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "Another todo list API" } });
    let bc: any;
    for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(30)) {
      bc = (await s.json(`/api/v1/builder-agents/${b.body.data.uuid}`)).body.data;
      if (bc.status !== "processing") break;
    }
    expect(bc.status).toBe("gathering");
  } finally {
    await s.stop();
  }
});

test("a conversation whose running turn is cancelled ends failed at once (no restart needed)", async () => {
  fake.respond(() => ({ hang: true }));
  const s = await boot();
  try {
    // Counted before the request: its turn may reach the model before the 202 is read.
    const before = fake.calls.length;
    const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "A todo list API that will be cancelled" } });
    const uuid = r.body.data.uuid as string;
    await untilCalls(before + 1);
    const jobId = (await s.db.select({ jobId: conversations.jobId }).from(conversations).where(eq(conversations.id, uuid)))[0]!.jobId!;
    await s.app.internals.queue.cancel(jobId);
    let c: any;
    for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(30)) {
      c = (await s.json(`/api/v1/builder-agents/${uuid}`)).body.data;
      if (c.status !== "processing") break;
    }
    expect(c.status).toBe("failed");
    expect(c.failure.code).toBe("cancelled");
  } finally {
    await s.stop();
  }
});

test("cancelling a turn mid-build also settles the agent it was generating", async () => {
  const { todoSpec } = await import("../fixtures/scratch-backends");
  fake.respond((call) => {
    const step = /\[cantrip:(\w+)\]/.exec(call.system)?.[1];
    if (step === "ask") return { json: { ready: true, message: "Clear.", asks: [], facts: {}, name: "Cancelled Build" } };
    if (step === "plan") return { json: todoSpec };
    return { hang: true };
  });
  const s = await boot();
  try {
    const r = await s.json("/api/v1/builder-agents", { method: "POST", json: { prompt: "A todo list API built then cancelled", skip_approval: true } });
    const uuid = r.body.data.uuid as string;
    let row: { job_id: string | null; agent_id: string | null } | undefined;
    for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(30)) {
      row = (await s.db.select({ job_id: conversations.jobId, agent_id: conversations.agentId }).from(conversations).where(eq(conversations.id, uuid)))[0];
      if (row?.agent_id && fake.calls.some((c) => /\[cantrip:code\]/.test(c.system) && c.lastUser.includes("todos"))) break;
    }
    expect(row?.agent_id).toBeString();
    expect((await s.json(`/v1/agents/${row!.agent_id}`)).body.data.status).toBe("generating");
    await s.app.internals.queue.cancel(row!.job_id!);
    let c: any;
    for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(30)) {
      c = (await s.json(`/api/v1/builder-agents/${uuid}`)).body.data;
      if (c.status !== "processing") break;
    }
    expect(c.status).toBe("failed");
    expect((await s.json(`/v1/agents/${row!.agent_id}`)).body.data.status).toBe("failed");
  } finally {
    await s.stop();
  }
});
