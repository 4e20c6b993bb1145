/**
 * Crash safety: kill -9 the server in the middle of a generation; after a restart on the
 * same data dir the job resumes (or fails cleanly) — it never stays "running", and the
 * SQLite file passes its integrity check.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { api, startCantrip } from "../../bench/lib/cantrip-process";
import { leadSpec } from "../fixtures/lead-spec";
import { leadCode } from "../fixtures/lead-code";

let fake: FakeOpenAI;
beforeAll(() => {
  fake = startFakeOpenAI();
});
afterAll(() => fake.stop());

test("kill -9 mid-generation, restart: the job resumes and completes", async () => {
  let hang = true;
  fake.respond((call) => {
    if (call.system.includes("[cantrip:plan]")) return { json: leadSpec };
    if (hang) return { hang: true };
    return { content: "```ts\n" + leadCode + "\n```" };
  });
  const env = { OPENAI_BASE_URL: fake.url, CANTRIP_MODEL_TIMEOUT_MS: "60000" };
  const first = await startCantrip({ env });
  const gen = await api(first, "POST", "/v1/generate", {
    name: "Crash Test",
    prompt: "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.",
    autoDeploy: true,
  });
  const jobId = gen.data.job.id;
  for (let i = 0; i < 200; i++) {
    const j = await api(first, "GET", `/v1/generate/${jobId}`);
    if (j.data.stage === "code") break;
    await Bun.sleep(25);
  }
  expect((await api(first, "GET", `/v1/generate/${jobId}`)).data.status).toBe("running");
  await first.kill9();

  hang = false;
  const second = await startCantrip({ env, dataDir: first.dataDir });
  try {
    let job: any;
    for (let i = 0; i < 400; i++) {
      job = (await api(second, "GET", `/v1/generate/${jobId}`)).data;
      if (["completed", "failed", "cancelled"].includes(job.status)) break;
      await Bun.sleep(50);
    }
    expect(job.status).toBe("completed");
    expect(job.attempts).toBe(2);
    const agent = (await api(second, "GET", `/v1/agents/${gen.data.agent.id}`)).data;
    expect(agent.status).toBe("deployed");
    expect(agent.liveVersion).toBe(1);
  } finally {
    await second.stop();
  }
  const db = new Database(join(first.dataDir, "cantrip.db"));
  expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  expect(db.query("select count(*) as n from jobs where status = 'running'").get()).toEqual({ n: 0 });
  db.close();
}, 90_000);
