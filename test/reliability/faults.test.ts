/**
 * Crash safety, with cantrip as a real process killed by SIGKILL and restarted on the same
 * data dir: (a) mid-generation (the model call hangs), (b) mid-deploy (slow-loading bundles,
 * several agents deploying at once), (c) under invoke load, (d) mid-conversation turn (the
 * intake model call hangs). After each restart: the SQLite file passes its integrity check
 * (as the crash left it, and after the restart), no job stays queued/running, failed jobs
 * say why, every agent's live version is the old or the new one and serves, and no platform
 * token, agent key, credential or version written before the crash is lost or changed.
 * Plus: a data dir that cannot be used stops start-up with one clear line and no stack.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { slowLoadBackend, trivialBackend } from "../../bench/lib/backends";
import { api, deployTrivial, startCantrip, type CantripProcess } from "../../bench/lib/cantrip-process";
import { runCountingLoad, type LoadTarget } from "../../bench/lib/counting-load";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall, type Step } from "../fakes/fake-openai";
import { leadCode } from "../fixtures/lead-code";
import { leadSpec } from "../fixtures/lead-spec";
import {
  integrity,
  invocationRequestIds as openRows,
  invoke,
  jobRows,
  keeperProblems,
  lostOrChanged,
  seedKeeper,
  settleJobs,
  snapshot,
  unexplainedFailures,
  until,
  type Keeper,
} from "./helpers";

let fake: FakeOpenAI;
/** What the fake model does right now; scenarios flip it between the crash and the restart. */
let model: (kind: string | undefined, call: RecordedCall) => Step | undefined = () => undefined;
const kindOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];
const dirs: string[] = [];

beforeAll(() => {
  fake = startFakeOpenAI();
  fake.respond((call) => model(kindOf(call), call));
});
afterAll(async () => {
  await fake.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const env = () => ({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL_TIMEOUT_MS: "60000", CANTRIP_MAX_REPAIRS: "1" });

async function start(dataDir?: string): Promise<CantripProcess> {
  const p = await startCantrip({ env: env(), dataDir });
  if (!dataDir) dirs.push(p.dataDir);
  return p;
}

/**
 * The common ending of every scenario: integrity of the file as the crash left it, restart,
 * settle, nothing lost, keeper intact. Returns the restarted process (caller stops it).
 */
async function crashAndRestart(p: CantripProcess, keeper: Keeper, onKill: (killAt: number) => void = () => {}, settleMs = 30_000): Promise<CantripProcess> {
  const before = snapshot(p.dataDir);
  const killAt = performance.now();
  await p.kill9();
  onKill(killAt);
  expect(integrity(p.dataDir)).toBe("ok");
  const q = await start(p.dataDir);
  const stuck = await settleJobs(q.dataDir, settleMs);
  expect(stuck).toEqual([]);
  expect(unexplainedFailures(jobRows(q.dataDir))).toEqual([]);
  expect(lostOrChanged(before, snapshot(q.dataDir))).toEqual([]);
  expect(await keeperProblems(q, keeper)).toEqual([]);
  return q;
}

async function finish(q: CantripProcess) {
  await q.stop();
  expect(integrity(q.dataDir)).toBe("ok");
}

describe("kill -9 and restart on the same data dir", () => {
  test("(a) mid-generation: the hanging job resumes and completes", async () => {
    let hang = true;
    model = (kind) => {
      if (kind === "plan") return { json: leadSpec };
      if (kind === "code" || kind === "repair") return hang ? { hang: true } : { content: "```ts\n" + leadCode + "\n```" };
      return undefined;
    };
    const p = await start();
    const keeper = await seedKeeper(p);
    const gen = await api(p, "POST", "/v1/generate", { name: "Crash Gen", prompt: "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.", autoDeploy: true });
    expect(gen.status).toBe(202);
    const codeCalls = () => fake.calls.filter((c) => kindOf(c) === "code").length;
    const already = codeCalls();
    await until("the code call to hang", () => codeCalls() > already || undefined);
    expect((await api(p, "GET", `/v1/generate/${gen.data.job.id}`)).data.status).toBe("running");
    hang = false;
    const q = await crashAndRestart(p, keeper);
    try {
      const job = (await api(q, "GET", `/v1/generate/${gen.data.job.id}`)).data;
      expect(job.status).toBe("completed");
      const agent = (await api(q, "GET", `/v1/agents/${gen.data.agent.id}`)).data;
      expect(agent.status).toBe("deployed");
      expect(agent.liveVersion).toBe(1);
      const key = (await api(q, "POST", `/v1/agents/${agent.id}/api-keys`, { name: "after" })).data.key;
      const r = await invoke(q, agent.slug, key, { name: "Ada", email: "ada@example.com" });
      expect(r.status).toBe(200);
      expect(r.body.data.ok).toBe(true);
    } finally {
      await finish(q);
    }
  }, 60_000);

  test("(b) mid-deploy: every agent serves exactly its old or its new version", async () => {
    const SPIN_MS = 600;
    const p = await start();
    const keeper = await seedKeeper(p);
    // The keeper's v2 loads slowly; so do three fresh agents deployed at the same moment.
    const put = await api(p, "PUT", `/v1/agents/${keeper.agentId}/source`, { files: { "index.ts": slowLoadBackend(2, SPIN_MS) }, entrypoint: "index.ts" });
    expect(put.status).toBe(200);
    const fresh: { id: string; slug: string; key: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await api(p, "POST", "/v1/agents", { name: `slow ${i}`, files: { "index.ts": slowLoadBackend(1, SPIN_MS) }, entrypoint: "index.ts" });
      expect(c.status).toBe(201);
      const key = (await api(p, "POST", `/v1/agents/${c.data.agent.id}/api-keys`, { name: "k" })).data.key;
      fresh.push({ id: c.data.agent.id, slug: c.data.agent.slug, key });
    }
    const deploys = await Promise.all([keeper.agentId, ...fresh.map((f) => f.id)].map((id) => api(p, "POST", `/v1/deploy/${id}`)));
    for (const d of deploys) expect(d.status).toBe(202);
    // Kill while at least one deployment is still in flight.
    const statuses = await Promise.all([keeper.agentId, ...fresh.map((f) => f.id)].map((id) => api(p, "GET", `/v1/deploy/${id}/status`)));
    const inFlight = statuses.filter((s) => s.data.deployment.status === "deploying").length;
    expect(inFlight).toBeGreaterThan(0);
    const q = await crashAndRestart(p, keeper);
    try {
      const db = snapshot(q.dataDir);
      // The keeper: live is v1 (old) or v2 (new), and the answer comes from that version.
      const k = db.agents.get(keeper.agentId)!;
      expect([1, 2]).toContain(k.live!);
      expect(k.status).toBe("deployed");
      for (const f of fresh) {
        const a = db.agents.get(f.id)!;
        expect([null, 1]).toContain(a.live);
        const r = await invoke(q, f.slug, f.key);
        if (a.live === 1) {
          expect(r.status).toBe(200);
          expect(r.body.data.response.version).toBe(1);
        } else expect(r.body.error.code).toBe("not_deployed");
      }
      console.log(`[faults b] deploying at the kill: ${inFlight}/${statuses.length}; after restart keeper live v${k.live}, fresh agents live ${fresh.map((f) => db.agents.get(f.id)!.live ?? "none").join(", ")}`);
      const open = (await Promise.all(fresh.map((f) => api(q, "GET", `/v1/deploy/${f.id}/status`)))).filter((s) => s.data.deployment.status === "deploying");
      expect(open).toEqual([]);
    } finally {
      await finish(q);
    }
  }, 60_000);

  test("(c) under invoke load: no 5xx before the kill, log rows up to the last flush kept, serving after", async () => {
    const p = await start();
    const keeper = await seedKeeper(p);
    const others = [await deployTrivial(p, "load a", trivialBackend(1)), await deployTrivial(p, "load b", trivialBackend(1))];
    const targets: LoadTarget[] = [{ slug: keeper.slug, key: keeper.key }, ...others].map((a) => ({
      name: a.slug,
      url: `${p.url}/v1/invoke/${a.slug}`,
      body: JSON.stringify({ n: 1 }),
      headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json" },
    }));
    const ac = new AbortController();
    let answered = 0;
    const loading = runCountingLoad({ targets, connections: 16, seconds: 30, signal: ac.signal, idPrefix: `crash-${Date.now().toString(36)}`, inspect: (r) => void (r.status === 200 && answered++) });
    // Kill once traffic flows, late enough that some responses are older than the margin below.
    await until("50 answered invocations", () => answered >= 50 || undefined, 20_000);
    await Bun.sleep(2000);
    let killAt = 0;
    const q = await crashAndRestart(p, keeper, (t) => {
      killAt = t;
      ac.abort();
    });
    const load = await loading;
    try {
      expect(load.ok).toBeGreaterThan(100);
      expect(load.c5xx).toBe(0);
      // The invocation log is written in batches (every 200 ms): a kill may lose the batches still
      // in memory, never an older one (1.5 s of margin for timer delays on a busy 2-core box).
      const rows = new Set(openRows(q.dataDir));
      const old = load.okIds.filter((o) => o.endedAt < killAt - 1500);
      expect(old.length).toBeGreaterThan(0);
      expect(old.filter((o) => !rows.has(o.id)).length).toBe(0);
      const lostIds = load.okIds.filter((o) => !rows.has(o.id));
      const lost = lostIds.length;
      const window = lost ? killAt - Math.min(...lostIds.map((o) => o.endedAt)) : 0;
      console.log(
        `[faults c] 2xx before kill ${load.ok}; log rows kept ${load.ok - lost}; lost ${lost} (responses completed from ${window.toFixed(0)} ms before the kill on); network errors at the kill ${load.netErrors}`,
      );
      for (const t of targets) t.url = t.url.replace(p.url, q.url);
      const after = await runCountingLoad({ targets, connections: 8, seconds: 1.5, idPrefix: `after-${Date.now().toString(36)}` });
      expect(after.c5xx + after.netErrors + after.c4xx).toBe(0);
      expect(after.ok).toBeGreaterThan(50);
      await finish(q);
      const rowsAfter = new Set(openRows(q.dataDir));
      expect(after.okIds.filter((o) => !rowsAfter.has(o.id)).length).toBe(0);
    } finally {
      await q.stop();
    }
  }, 60_000);

  test("(d) mid-conversation turn: the intake turn runs again and the conversation reaches gathering", async () => {
    let hang = true;
    model = (kind) => {
      if (kind !== "ask") return undefined;
      if (hang) return { hang: true };
      return { json: { ready: false, message: "Which fields should a lead have?", asks: [{ id: "fields", kind: "text", question: "Which fields should a lead have?" }], facts: {}, name: "Crash Conversation" } };
    };
    const p = await start();
    const keeper = await seedKeeper(p);
    const asks = () => fake.calls.filter((c) => kindOf(c) === "ask").length;
    const already = asks();
    const r = await api(p, "POST", "/api/v1/builder-agents", { prompt: "Keep a list of sales leads that my team can add to and read back." });
    expect(r.status).toBe(202);
    const uuid = r.data.uuid;
    await until("the intake call to hang", () => asks() > already || undefined);
    expect((await api(p, "GET", `/api/v1/builder-agents/${uuid}`)).data.status).toBe("processing");
    hang = false;
    const q = await crashAndRestart(p, keeper);
    try {
      const conv = await until("the conversation to leave processing", async () => {
        const c = (await api(q, "GET", `/api/v1/builder-agents/${uuid}`)).data;
        return c.status === "processing" ? undefined : c;
      });
      expect(conv.status).toBe("gathering");
      expect(conv.questions).toEqual(["Which fields should a lead have?"]);
    } finally {
      await finish(q);
    }
  }, 60_000);
});

describe("a data dir that cannot be used", () => {
  async function serveWith(dataDir: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [join(import.meta.dir, "..", "..", "src", "main.ts"), "serve", "--port", "0", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    clearTimeout(timer);
    return { code, stderr };
  }

  const base = mkdtempSync(join(tmpdir(), "cantrip-baddir-"));
  dirs.push(base);
  const file = join(base, "a-regular-file");
  writeFileSync(file, "not a directory\n");

  for (const [what, dir] of [
    ["a regular file", file],
    ["a path beneath a regular file", join(file, "data")],
  ] as const) {
    test(`CANTRIP_DATA_DIR is ${what}: exit non-zero with one line on stderr, no stack`, async () => {
      const { code, stderr } = await serveWith(dir);
      console.log(`[faults data dir] exit ${code}: ${stderr.trim()}`);
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      const lines = stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(dir);
      expect(lines[0]).toContain("set CANTRIP_DATA_DIR or --data-dir to a writable directory");
      expect(stderr).not.toMatch(/\n\s+at |Error:|\.ts:\d+/);
    }, 20_000);
  }
});
