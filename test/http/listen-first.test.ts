/**
 * The server listens before its control plane is built (src/boot.ts, issue 15: process start
 * → first 2xx): invoke and app calls need only the gateway, so they are answered as soon as
 * the listeners are up; any other request that arrives before Elysia's routes exist waits for
 * them and gets its real answer, never a 404 or a 5xx from a half-built server. Around that:
 * the routes are published only once the whole server is built, a build that fails answers
 * the waiting requests in the envelope, a port in use closes what the start opened, and a stop
 * answers the calls in flight before it closes the listeners.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { boot, StartupError, type Cantrip } from "../../src/boot";
import { loadConfig } from "../../src/config";
import { silentLogger } from "../../src/http";
import { freePort } from "../../bench/lib/cantrip-process";
import { eq } from "drizzle-orm";
import { invocations } from "../../src/db/schema";
import { startServer, tempDir } from "../harness";
import { deployed, invoke } from "../ops/helpers";
import { startFakeOpenAI } from "../fakes/fake-openai";

const ROOT = join(import.meta.dir, "..", "..");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A backend whose call takes `ms` of wall time (a timer: no CPU), answering {slow: true}. */
const slowBackend = (ms: number) => `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": async () => { await new Promise((r) => setTimeout(r, ${ms})); return { slow: true }; } } });
`;

/** The invocation rows of `agentId` in the data dir of `first` (read through a server started on it again). */
async function rowsOf(first: { dataDir: string }, agentId: string) {
  const again = await startServer({}, { dataDir: first.dataDir, keep: true });
  try {
    return await again.db.select().from(invocations).where(eq(invocations.agentId, agentId));
  } finally {
    await again.app.stop();
  }
}

/** A data dir with one deployed agent and no server running on it, plus a free port to restart on. */
async function stoppedWithAgent(name: string, code?: string) {
  const first = await startServer({}, { keep: true });
  const agent = await deployed(first, name, code);
  await first.stop();
  cleanups.push(() => rmSync(first.dataDir, { recursive: true, force: true }));
  return { first, agent, port: await freePort() };
}

test("an invoke is answered while the control plane is held; a control-plane request waits for it and gets its real answer", async () => {
  const { first, agent, port } = await stoppedWithAgent("listen-first");
  const config = loadConfig({ ...first.dbEnv, CANTRIP_PORT: String(port), CANTRIP_DATA_DIR: first.dataDir, CANTRIP_LOG_REQUESTS: "false" });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let booted: Cantrip | null = null;
  const starting = boot(config, { logger: silentLogger, controlPlaneGate: gate }).then((app) => (booted = app));
  cleanups.push(async () => {
    release();
    await (await starting).stop();
  });
  const url = `http://127.0.0.1:${port}`;

  // The listener is up while the gate holds the control plane: an invoke gets its 200.
  let answer: { status: number; body: any } | null = null;
  for (let i = 0; i < 400 && answer?.status !== 200; i++) {
    answer = await invoke(url, agent.slug, agent.key).catch(() => null);
    if (answer?.status !== 200) await Bun.sleep(10);
  }
  expect(answer?.status).toBe(200);
  expect(answer?.body.data.response).toEqual({ n: 1 });
  expect(booted).toBeNull();

  // A control-plane request waits for the routes instead of being answered by a half-built server.
  let listed: Response | null = null;
  const listing = fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${first.token}` } }).then((r) => (listed = r));
  await Bun.sleep(100);
  expect(listed).toBeNull();
  release();
  await listing;
  expect(listed!.status).toBe(200);
  expect(JSON.stringify(await listed!.json())).toContain(`"slug":"${agent.slug}"`);
  expect((await starting).url).toBe(url);
});

test("a started server with a model configured has not loaded the openai package (its first model call does)", () => {
  const script = `
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { boot } = await import(${JSON.stringify(join(ROOT, "src/boot.ts"))});
    const { loadConfig } = await import(${JSON.stringify(join(ROOT, "src/config"))});
    const { silentLogger } = await import(${JSON.stringify(join(ROOT, "src/http"))});
    const dataDir = mkdtempSync(join(tmpdir(), "cantrip-llm-lazy-"));
    const app = await boot(loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dataDir, OPENAI_BASE_URL: "http://127.0.0.1:9/v1", CANTRIP_LOG_REQUESTS: "false" }), { logger: silentLogger, scheduler: false });
    const loaded = Object.keys(require.cache).some((k) => k.includes("node_modules/openai/"));
    const ready = await (await fetch(app.url + "/readyz")).json();
    await app.stop();
    console.log(JSON.stringify({ loaded, ready }));
    process.exit(0);`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: ROOT, env: { ...process.env, CANTRIP_SECRET_KEY: "" } });
  expect(r.stderr.toString()).not.toContain("error:");
  expect(r.exitCode).toBe(0);
  const out = JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!);
  expect(out.loaded).toBe(false);
  expect(JSON.stringify(out.ready)).toContain("compatible");
}, 30_000);

test("SIGTERM right after a restart's first answer stops gracefully: exit code 0 and that call's invocation row is written", async () => {
  const { first, agent, port } = await stoppedWithAgent("stop-early");
  const child = Bun.spawn([process.execPath, join(ROOT, "src", "main.ts"), "serve", "--port", String(port), "--data-dir", first.dataDir, "--log-requests", "false"], {
    env: { ...process.env, ...first.dbEnv },
    stdout: "ignore",
    stderr: "pipe",
  });
  cleanups.push(() => void child.kill("SIGKILL"));
  let answer: { status: number } | null = null;
  for (let i = 0; i < 1500 && answer?.status !== 200; i++) {
    answer = await invoke(`http://127.0.0.1:${port}`, agent.slug, agent.key).catch(() => null);
    if (answer?.status !== 200) await Bun.sleep(2);
  }
  expect(answer?.status).toBe(200);
  child.kill("SIGTERM"); // (most likely while the control plane is still being built)
  expect(await child.exited).toBe(0);
  expect(child.signalCode).toBeNull();

  const again = await startServer({}, { dataDir: first.dataDir, keep: true });
  try {
    const rows = await again.db.select().from(invocations).where(eq(invocations.agentId, agent.id));
    expect(rows.length).toBe(1);
  } finally {
    await again.app.stop();
  }
}, 60_000);

test("/readyz checks the call path: it does not wait for the load worker's first start", async () => {
  const s = await startServer();
  cleanups.push(() => s.stop());
  const runtime = s.app.internals.runtime;
  let checks = 0;
  const check = runtime.check.bind(runtime);
  runtime.check = (ref) => {
    checks++;
    return check(ref);
  };
  const r = await s.json("/readyz");
  expect(r.status).toBe(200);
  expect(JSON.stringify(r.body)).toContain("sandbox answered");
  expect(checks).toBe(0);
});

test("a request answered by Elysia while the control plane is built sees the whole server: /metrics has the process metrics", async () => {
  // A slow call in flight makes every build step wait its full 100 ms (QuietWaiter), so requests
  // sent every 5 ms land in each step; none may meet routes published before the build ended.
  const { first, agent, port } = await stoppedWithAgent("metrics-window", slowBackend(3000));
  const config = loadConfig({ ...first.dbEnv, CANTRIP_PORT: String(port), CANTRIP_DATA_DIR: first.dataDir, CANTRIP_LOG_REQUESTS: "false" });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let built = false;
  const starting = boot(config, { logger: silentLogger, controlPlaneGate: gate }).then((app) => ((built = true), app));
  cleanups.push(async () => {
    release();
    await (await starting).stop();
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400 && !(await fetch(`${url}/v1/invoke/nothing-here`, { method: "POST" }).then(() => true, () => false)); i++) await Bun.sleep(10);
  const slow = invoke(url, agent.slug, agent.key);
  await Bun.sleep(100);
  release();
  const scrapes: Promise<{ status: number; process: boolean }>[] = [];
  while (!built) {
    scrapes.push(fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${first.token}` } }).then(async (r) => ({ status: r.status, process: (await r.text()).includes("process_cpu_seconds_total") })));
    await Bun.sleep(5);
  }
  const seen = await Promise.all(scrapes);
  expect(seen.length).toBeGreaterThan(20);
  expect(seen.filter((r) => r.status !== 200 || !r.process)).toEqual([]);
  expect((await slow).status).toBe(200);
}, 60_000);

test("a control plane that fails to build: the waiting request gets an internal_error envelope, the port is freed, the calls answered before are logged", async () => {
  const { first, agent, port } = await stoppedWithAgent("build-fails");
  const config = loadConfig({ ...first.dbEnv, CANTRIP_PORT: String(port), CANTRIP_DATA_DIR: first.dataDir, CANTRIP_LOG_REQUESTS: "false" });
  let fail!: (e: Error) => void;
  const gate = new Promise<void>((_, r) => (fail = r));
  const starting = boot(config, { logger: silentLogger, controlPlaneGate: gate });
  const url = `http://127.0.0.1:${port}`;
  let answer: { status: number } | null = null;
  for (let i = 0; i < 400 && answer?.status !== 200; i++) {
    answer = await invoke(url, agent.slug, agent.key).catch(() => null);
    if (answer?.status !== 200) await Bun.sleep(10);
  }
  expect(answer?.status).toBe(200);
  const waiting = fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${first.token}`, "x-request-id": "req_waiting" } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  await Bun.sleep(100);
  fail(new Error("a build step failed"));
  const error = await starting.then(() => null, (e: Error) => e);
  expect(error?.message).toBe("cannot start: a build step failed");
  const w = await waiting;
  expect(w.status).toBe(500);
  expect(w.body.error.code).toBe("internal_error");
  expect(w.body.error.requestId).toBe("req_waiting");
  expect(await fetch(`${url}/healthz`).then(() => "answered", () => "refused")).toBe("refused");
  expect((await rowsOf(first, agent.id)).length).toBe(1);
}, 60_000);

test("a stop answers the calls in flight before it closes the listeners, and logs them", async () => {
  const s = await startServer({}, { keep: true });
  cleanups.push(() => rmSync(s.dataDir, { recursive: true, force: true }));
  const agent = await deployed(s, "in-flight", slowBackend(800));
  const call = invoke(s.url, agent.slug, agent.key).catch((e: Error) => ({ status: 0, body: String(e) }));
  await Bun.sleep(300);
  const stopped = s.app.stop();
  await Bun.sleep(50);
  // Not accepting any more: a new connection is refused while the call in flight runs on.
  expect(await fetch(`${s.url}/healthz`).then(() => "answered", () => "refused")).toBe("refused");
  const answer = await call;
  expect(answer.status).toBe(200);
  expect(answer.body.data.response).toEqual({ slow: true });
  await stopped;
  expect((await rowsOf(s, agent.id)).length).toBe(1);
}, 60_000);

test("a stop ends the job event streams open on it at once, without done (the client reconnects with Last-Event-ID)", async () => {
  const fake = startFakeOpenAI();
  cleanups.push(() => fake.stop());
  fake.script({ hang: true });
  const s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake" });
  const g = await s.json("/v1/generate", { method: "POST", json: { name: "streams at stop", prompt: "a backend that answers hello" } });
  expect(g.status).toBe(202);
  const res = await s.req(`/v1/generate/${g.body.data.job.id}/stream`);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body!.getReader();
  let text = new TextDecoder().decode((await reader.read()).value);
  for (let i = 0; i < 200 && fake.calls.length === 0; i++) await Bun.sleep(10); // (the job is running: its model call hangs)
  const stopped = s.stop();
  const ended = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return "ended";
      text += new TextDecoder().decode(r.value);
    }
  })().catch((e: Error) => `error: ${e.message}`);
  expect(await Promise.race([ended, Bun.sleep(2000).then(() => "still open after 2 s")])).toBe("ended");
  expect(text).not.toContain("event: done");
  await stopped;
}, 60_000);

test("a port in use ends the start with one line, and what the start opened is closed (server.pid, last-resort handlers)", async () => {
  const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
  cleanups.push(() => taken.stop(true));
  const handlers = () => process.listeners("uncaughtException").length + process.listeners("unhandledRejection").length;
  for (const [setting, said] of [
    ["CANTRIP_PORT", `cannot listen on port ${taken.port}`],
    ["CANTRIP_APPS_PORT", `cannot listen on the apps port ${taken.port}`],
  ] as const) {
    const dataDir = tempDir();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const before = handlers();
    const config = loadConfig({ CANTRIP_HOST: "127.0.0.1", CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dataDir, CANTRIP_LOG_REQUESTS: "false", [setting]: String(taken.port) });
    const error = await boot(config, { logger: silentLogger }).then(
      (app) => app.stop().then(() => null),
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.message).toStartWith(said);
    expect(existsSync(join(dataDir, "server.pid"))).toBe(false);
    expect(handlers()).toBe(before);
  }
});
