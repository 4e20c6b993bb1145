/**
 * Issue 12 §2: every background loop survives its own failure. Each loop's failure is
 * injected through the real database (a trigger that aborts its write, or a table it reads
 * renamed away), then the test checks that the failure was logged under the loop's name and
 * counted, that it never reached the last-resort handler, that the server still answers a
 * bystander's invoke, and that the loop does its work again once the fault is removed.
 * Plus the last resort itself: an uncaught exception and an unhandled rejection anywhere in
 * the process are logged with their origin and counted, and serving goes on.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../bench/lib/cantrip-process";
import { trivialBackend } from "../../bench/lib/backends";
import { boot, type Cantrip } from "../../src/boot";
import { loadConfig } from "../../src/config";
import type { Logger } from "../../src/http";
import { tempDir } from "../harness";
import { call, deploy, invoke, openFile, until, type Target } from "./host-helpers";

const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
const logger: Logger = {
  info: (msg, fields = {}) => lines.push({ level: "info", msg, fields }),
  warn: (msg, fields = {}) => lines.push({ level: "warn", msg, fields }),
  error: (msg, fields = {}) => lines.push({ level: "error", msg, fields }),
};

let app: Cantrip;
let t: Target;
let dataDir: string;
let file: Database;
let bystander: { id: string; slug: string; key: string };

beforeAll(async () => {
  dataDir = tempDir();
  const config = loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dataDir, CANTRIP_LOG_REQUESTS: "false", CANTRIP_RETENTION_INVOCATIONS: "2", CANTRIP_RETENTION_INTERVAL_S: "1" });
  app = await boot(config, { logger, loopIntervalsMs: { "key-usage": 100, "error-rate-monitor": 200, retention: 200 } });
  t = { url: app.url, token: readFileSync(app.adminTokenFile, "utf8").trim() };
  file = openFile(dataDir);
  bystander = await deploy(t, "bystander", trivialBackend(1));
});
afterAll(async () => {
  file.close();
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const counters = () => app.internals.counters;
const loggedFailure = (loop: string) => lines.some((l) => l.level === "error" && l.msg === "background loop failed" && l.fields.loop === loop);

async function stillServes() {
  expect((await invoke(t, bystander.slug, bystander.key, { n: 3 })).body.data.response).toEqual({ ok: true, n: 3, version: 1 });
  expect(counters().uncaught).toBe(0);
}

test("invocation-log flush: a batch the database refuses is retried row by row, unwritable rows are dropped and counted", async () => {
  file.exec("CREATE TRIGGER inject_inv BEFORE INSERT ON invocations BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  const dropped = counters().rowsDropped;
  await invoke(t, bystander.slug, bystander.key, { n: 1 });
  expect(await until(() => counters().rowsDropped > dropped, 5000)).toBe(true);
  expect(lines.some((l) => l.msg.startsWith("invocation log rows dropped") && String(l.fields.reason).includes("injected fault"))).toBe(true);
  file.exec("DROP TRIGGER inject_inv");
  const r = await invoke(t, bystander.slug, bystander.key, { n: 2 });
  const requestId = r.headers.get("x-request-id");
  expect(await until(() => file.query("SELECT 1 FROM invocations WHERE request_id = ?").get(requestId) !== null, 5000)).toBe(true);
  expect(app.internals.invocations.pending).toBe(0);
  await stillServes();
});

test("key-usage (lastUsedAt batches): a failed batch is logged under its name and the next one writes", async () => {
  file.exec("CREATE TRIGGER inject_keys BEFORE UPDATE OF last_used_at ON api_keys BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  await invoke(t, bystander.slug, bystander.key);
  expect(await until(() => counters().failuresOf("key-usage") > 0, 5000)).toBe(true);
  expect(loggedFailure("key-usage")).toBe(true);
  file.exec("DROP TRIGGER inject_keys");
  file.exec("UPDATE api_keys SET last_used_at = NULL");
  await invoke(t, bystander.slug, bystander.key);
  expect(await until(() => (file.query("SELECT count(*) AS n FROM api_keys WHERE last_used_at IS NOT NULL").get() as { n: number }).n > 0, 5000)).toBe(true);
  await stillServes();
});

test("scheduler tick: a refused write is logged under its name and the next tick runs the schedule", async () => {
  file.exec("CREATE TRIGGER inject_sched BEFORE UPDATE ON schedules BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  file.query("INSERT INTO schedules (agent_id, cron, mode, enabled, next_run_at) VALUES (?, '* * * * *', 'always_on', 1, 1)").run(bystander.id);
  expect(await until(() => counters().failuresOf("scheduler") > 0, 5000)).toBe(true);
  expect(loggedFailure("scheduler")).toBe(true);
  file.exec("DROP TRIGGER inject_sched");
  expect(await until(() => (file.query("SELECT last_run_at FROM schedules WHERE agent_id = ?").get(bystander.id) as { last_run_at: number | null }).last_run_at !== null, 5000)).toBe(true);
  await stillServes();
});

test("error-rate monitor: a failing pass is logged under its name and the loop keeps running", async () => {
  file.exec("ALTER TABLE conversations RENAME TO conversations_hidden");
  try {
    expect(await until(() => counters().failuresOf("error-rate-monitor") > 0, 5000)).toBe(true);
    expect(loggedFailure("error-rate-monitor")).toBe(true);
  } finally {
    file.exec("ALTER TABLE conversations_hidden RENAME TO conversations");
  }
  const failed = counters().failuresOf("error-rate-monitor");
  await Bun.sleep(600); // three more passes, now clean
  expect(counters().failuresOf("error-rate-monitor")).toBe(failed);
  await stillServes();
});

test("retention: a refused delete is logged under its name and a later pass prunes", async () => {
  file.exec("CREATE TRIGGER inject_prune BEFORE DELETE ON invocations BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  for (let i = 0; i < 4; i++) await invoke(t, bystander.slug, bystander.key, { n: i });
  expect(await until(() => counters().failuresOf("retention") > 0, 5000)).toBe(true);
  expect(loggedFailure("retention")).toBe(true);
  file.exec("DROP TRIGGER inject_prune");
  expect(await until(() => (file.query("SELECT count(*) AS n FROM invocations WHERE agent_id = ?").get(bystander.id) as { n: number }).n <= 2, 5000)).toBe(true);
  expect(counters().rowsPruned).toBeGreaterThan(0);
  await stillServes();
});

test("job runner: an outcome the database refuses to record is logged; the slot is freed and later jobs complete", async () => {
  const other = await deploy(t, "redeployed", trivialBackend(1));
  file.exec("CREATE TRIGGER inject_jobs BEFORE UPDATE OF status ON jobs WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  try {
    expect((await call(t, "POST", `/v1/deploy/${other.id}`, { version: 1 })).status).toBeLessThan(300);
    expect(await until(() => counters().failuresOf("job-runner:finalize") > 0, 10_000)).toBe(true);
    expect(loggedFailure("job-runner:finalize")).toBe(true);
  } finally {
    file.exec("DROP TRIGGER inject_jobs");
  }
  expect(app.internals.queue.running()).toEqual([]);
  const later = await deploy(t, "after-fault", trivialBackend(4));
  expect((await invoke(t, later.slug, later.key, { n: 5 })).body.data.response).toEqual({ ok: true, n: 5, version: 4 });
  await stillServes();
});

test("the counters are in /readyz details", async () => {
  // Retention may still be pruning: the answer lies between the counters before and after it.
  const before = { rowsDropped: counters().rowsDropped, rowsPruned: counters().rowsPruned };
  const ready = await call(t, "GET", "/readyz");
  const after = { rowsDropped: counters().rowsDropped, rowsPruned: counters().rowsPruned };
  expect(ready.body.details.loopFailures["key-usage"]).toBeGreaterThan(0);
  for (const k of ["rowsDropped", "rowsPruned"] as const) {
    expect(ready.body.details[k]).toBeGreaterThanOrEqual(before[k]);
    expect(ready.body.details[k]).toBeLessThanOrEqual(after[k]);
  }
  expect(ready.body.details.dbBytes).toBeGreaterThan(0);
  const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.token}` } })).text();
  expect(metrics).toMatch(/cantrip_background_loop_failures\{loop="key-usage"\} [1-9]/);
  expect(metrics).toMatch(/cantrip_invocation_rows_dropped [1-9]/);
  expect(metrics).toMatch(/cantrip_retention_pruned_rows [1-9]/);
});

test("last resort: an uncaught exception and an unhandled rejection in a running cantrip are logged with their origin and counted; the same process goes on serving", async () => {
  // A real process; a preload script (not cantrip code) throws from a timer and drops a
  // rejected promise when it receives SIGUSR2, i.e. after cantrip has booted.
  const dir = tempDir();
  const preload = join(dir, "inject.ts");
  writeFileSync(
    preload,
    `process.on("SIGUSR2", () => { setTimeout(() => { throw new Error("injected uncaught exception"); }, 0); void Promise.reject(new Error("injected unhandled rejection")); });\n`,
  );
  const port = await freePort();
  const child = spawn(process.execPath, ["--preload", preload, join(import.meta.dir, "..", "..", "src", "main.ts"), "serve", "--port", String(port), "--data-dir", dir, "--log-requests", "false", "--log-format", "json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    const url = `http://127.0.0.1:${port}`;
    expect(await until(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok === true, 15_000)).toBe(true);
    const p = { url, token: readFileSync(join(dir, "admin-token"), "utf8").trim() };
    const a = await deploy(p, "survivor", trivialBackend(1));
    child.kill("SIGUSR2");
    expect(await until(async () => (await call(p, "GET", "/readyz")).body.details?.uncaught >= 2, 5000)).toBe(true);
    expect(child.exitCode).toBeNull();
    expect((await invoke(p, a.slug, a.key, { n: 2 })).body.data.response).toEqual({ ok: true, n: 2, version: 1 });
    const logged = out.split("\n").filter((l) => l.includes("uncaught error")).map((l) => JSON.parse(l));
    expect(logged.map((l) => l.origin).sort()).toEqual(["uncaughtException", "unhandledRejection"]);
    expect(logged.map((l) => l.error).join("\n")).toContain("injected uncaught exception");
    const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${p.token}` } })).text();
    expect(metrics).toContain('cantrip_uncaught_errors_total{kind="exception"} 1');
    expect(metrics).toContain('cantrip_uncaught_errors_total{kind="rejection"} 1');
  } finally {
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
