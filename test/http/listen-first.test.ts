/**
 * The server listens before its control plane is built (src/boot.ts, issue 15: process start
 * → first 2xx): invoke and app calls need only the gateway, so they are answered as soon as
 * the listeners are up; any other request that arrives before Elysia's routes exist waits for
 * them and gets its real answer, never a 404 or a 5xx from a half-built server.
 */
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { boot, type Cantrip } from "../../src/boot";
import { loadConfig } from "../../src/config";
import { silentLogger } from "../../src/http";
import { freePort } from "../../bench/lib/cantrip-process";
import { eq } from "drizzle-orm";
import { invocations } from "../../src/db/schema";
import { startServer } from "../harness";
import { deployed, invoke } from "../ops/helpers";

const ROOT = join(import.meta.dir, "..", "..");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A data dir with one deployed agent and no server running on it, plus a free port to restart on. */
async function stoppedWithAgent(name: string) {
  const first = await startServer({}, { keep: true });
  const agent = await deployed(first, name);
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
