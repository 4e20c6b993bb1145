/**
 * `serve` runs with the JavaScriptCore options the sandbox needs (src/runtime/jsc-options.ts):
 * started without them it re-executes itself in place with them (same pid, same arguments),
 * an operator's own value is kept, and with them every QuickJS interpreter the server makes
 * gets a fast memory without a synchronous full collection first — which, with JSC's default
 * of 8, every interpreter after the eighth paid (issue 15). A value in a `.env` file (which JSC
 * never reads) is passed on by the restart; where a restart would drop a debugger's session or
 * a parent's IPC channel, or fails, the server keeps its process and says so.
 */
import { afterEach, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { api, freePort, startCantrip, type CantripProcess } from "../../bench/lib/cantrip-process";
import { missingJscOptions, restartArgv, restartFile, restartWouldDrop, SERVER_JSC_OPTIONS, startEnvironment } from "../../src/runtime/jsc-options";

const KEY = "BUN_JSC_maxNumWasmFastMemories";
const WARM_UP = "BUN_JSC_useWarmUpMarkedBlocks";
const ROOT = join(import.meta.dir, "..", "..");
const started: CantripProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    await p.stop();
    rmSync(p.dataDir, { recursive: true, force: true });
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** The environment and argument vector the process `pid` runs with now (Linux /proc). */
function procOf(pid: number): { env: Record<string, string>; argv: string[] } {
  return { env: startEnvironment(pid)!, argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean) };
}

const CODE = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": () => ({ ok: true }) } });`;

test.skipIf(process.platform !== "linux")("serve started without the options re-executes itself with them: same pid, same arguments, and no interpreter waits for a full collection", async () => {
  // JSC's own log of each WebAssembly.Memory it makes (kept across the re-exec with the rest of the environment).
  const p = await startCantrip({ unsetEnv: [KEY], env: { BUN_JSC_logWasmMemory: "1" } });
  started.push(p);
  const pid = p.child.pid!;
  const now = procOf(pid);
  expect(now.env[KEY]).toBe(SERVER_JSC_OPTIONS[KEY]!);
  // The arguments survived: the server listens on the --port it was given (startCantrip polled it) and runs `serve`.
  expect(now.argv.slice(-7)).toEqual(["serve", "--port", String(p.port), "--data-dir", p.dataDir, "--log-requests", "false"]);

  // Deploys and first calls make interpreters on the load and light workers: more than JSC's default of 8.
  for (let i = 0; i < 5; i++) {
    const created = await api(p, "POST", "/v1/agents", { name: `fast ${i}`, files: { "index.ts": CODE }, entrypoint: "index.ts", autoDeploy: true });
    expect(created.status).toBe(201);
  }
  const deadline = Date.now() + 20_000;
  const fastMade = () => (p.stderr().match(/Allocated virtual: \{basePtr = 0x[0-9a-f]+, kind = Success\}/g) ?? []).length;
  while (fastMade() < 10 && Date.now() < deadline) await Bun.sleep(50);
  const log = p.stderr();
  expect(fastMade()).toBeGreaterThanOrEqual(10);
  // Every one had a fast memory to spare: none asked for a collection first, none fell back to bounds checks.
  expect(log).not.toContain("SyncTryToReclaimMemory");
  expect(log).not.toContain("SuccessAndNotifyMemoryPressure");
  expect(log).toContain(`/${SERVER_JSC_OPTIONS[KEY]}`);
});

/** The names (`comm`) of the threads process `pid` has now (Linux /proc). */
function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return [readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim()];
    } catch {
      return []; // (the thread ended meanwhile)
    }
  });
}

test.skipIf(process.platform !== "linux")("serve runs without JSC's block warm-up thread (JSCWarmUp), which under load re-faults every heap block it hands out (issue 15)", async () => {
  const p = await startCantrip({ unsetEnv: [KEY, WARM_UP] });
  started.push(p);
  const pid = p.child.pid!;
  expect(procOf(pid).env[WARM_UP]).toBe("0");
  const created = await api(p, "POST", "/v1/agents", { name: "warm up", files: { "index.ts": CODE }, entrypoint: "index.ts", autoDeploy: true });
  expect(created.status).toBe(201);
  const { id, slug } = created.data.agent;
  const deadline = Date.now() + 20_000;
  while ((await api(p, "GET", `/v1/deploy/${id}/status`)).data.deployment?.status !== "deployed" && Date.now() < deadline) await Bun.sleep(25);
  const key = (await api(p, "POST", `/v1/agents/${id}/api-keys`, { name: "warm up" })).data.key;
  // Enough calls that JSC has allocated far more heap blocks than the supply holds (the helper
  // starts with the first blocks a process allocates, and by then a default server has it).
  for (let i = 0; i < 50; i++) {
    const calls = Array.from({ length: 20 }, () => fetch(`${p.url}/v1/invoke/${slug}`, { method: "POST", body: JSON.stringify({ pad: "x".repeat(2000) }), headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } }).then((r) => r.status));
    expect(new Set(await Promise.all(calls))).toEqual(new Set([200]));
  }
  const names = threadNames(pid);
  expect(names).toContain("Worker"); // (the list is the server's threads: its sandbox workers are there)
  expect(names).not.toContain("JSCWarmUp");
});

test.skipIf(process.platform !== "linux")("an operator's own value is kept, without a re-exec", async () => {
  const p = await startCantrip({ env: { [KEY]: "16" } });
  started.push(p);
  expect(procOf(p.child.pid!).env[KEY]).toBe("16");
});

test("missingJscOptions names only what the start environment lacks, with a .env file's value where there is one", () => {
  expect(missingJscOptions({})).toEqual({ ...SERVER_JSC_OPTIONS });
  expect(missingJscOptions({ [KEY]: "4" })).toEqual({ [WARM_UP]: "0" });
  expect(missingJscOptions({ [KEY]: "4", [WARM_UP]: "1" })).toEqual({});
  expect(missingJscOptions({}, { [KEY]: "16" })).toEqual({ ...SERVER_JSC_OPTIONS, [KEY]: "16" });
  expect(missingJscOptions({}, { [KEY]: "" })).toEqual({ ...SERVER_JSC_OPTIONS });
  expect(missingJscOptions({ [KEY]: "4", [WARM_UP]: "0" }, { [KEY]: "4", [WARM_UP]: "0" })).toEqual({});
});

test("restartWouldDrop names a debugger or a parent's IPC channel, and nothing else", () => {
  const send = () => true;
  expect(restartWouldDrop({ execArgv: [] }, {})).toBeUndefined();
  expect(restartWouldDrop({ execArgv: ["--smol", "--inspector-like"] }, { NODE_ENV: "production" })).toBeUndefined();
  for (const flag of ["--inspect", "--inspect=127.0.0.1:9229", "--inspect-wait", "--inspect-brk=9229"]) expect(restartWouldDrop({ execArgv: [flag] }, {})).toContain("debugger");
  expect(restartWouldDrop({ execArgv: [] }, { BUN_INSPECT: "ws://127.0.0.1:6499/x" })).toContain("debugger");
  expect(restartWouldDrop({ execArgv: [], send }, {})).toContain("IPC");
  expect(restartWouldDrop({ execArgv: [] }, { NODE_CHANNEL_FD: "3" })).toContain("IPC");
});

test("restartArgv starts the same program again, from source or as the executable", () => {
  const fromSource = { execPath: "/usr/bin/bun", execArgv: ["--smol"], argv: ["/usr/bin/bun", "/app/src/main.ts", "serve", "--port", "1"] };
  expect(restartArgv(fromSource, false)).toEqual(["/usr/bin/bun", "--smol", "/app/src/main.ts", "serve", "--port", "1"]);
  // argv[0] stays what the process was started with.
  expect(restartArgv({ ...fromSource, argv0: "bun" }, false)[0]).toBe("bun");
  // A compiled executable's argv[0] is "bun" and argv[1] its embedded path: the executable supplies its own entry.
  const compiled = { execPath: "/opt/cantrip", execArgv: [], argv: ["bun", "/$bunfs/root/cantrip", "serve", "--port", "1"] };
  expect(restartArgv(compiled, true)).toEqual(["/opt/cantrip", "serve", "--port", "1"]);
  expect(restartArgv({ ...compiled, argv0: "/usr/local/bin/cantrip" }, true)).toEqual(["/usr/local/bin/cantrip", "serve", "--port", "1"]);
  // Bun's --cwd has been applied: the restart is given the directory the process is in now.
  const moved = { execPath: "/usr/bin/bun", execArgv: ["--cwd=app", "--smol", "--cwd", "app"], argv: ["/usr/bin/bun", "/srv/app/src/main.ts", "serve"] };
  expect(restartArgv(moved, false, "/srv/app")).toEqual(["/usr/bin/bun", "--cwd=/srv/app", "--smol", "--cwd", "/srv/app", "/srv/app/src/main.ts", "serve"]);
});

test("restartFile restarts by the path the program was started by when it is the same file", () => {
  const dir = tempDir("cantrip-restart-file-");
  const link = join(dir, "cantrip-serve");
  symlinkSync(process.execPath, link);
  expect(restartFile(link, process.execPath, undefined)).toBe(link);
  expect(restartFile("cantrip-serve", process.execPath, `/nonexistent:${dir}`)).toBe(link);
  // Not found, or another file: the resolved executable.
  expect(restartFile("cantrip-serve", process.execPath, "/nonexistent")).toBe(process.execPath);
  expect(restartFile("/bin/sh", process.execPath, undefined)).toBe(process.execPath);
});

test.skipIf(process.platform !== "linux")("started through a link, the restarted server keeps its name (pidof, pkill -x and killall match it) and its argv[0]", async () => {
  const link = join(tempDir("cantrip-link-"), "cantrip-serve");
  symlinkSync(process.execPath, link);
  const p = await startCantrip({ bun: link, unsetEnv: [KEY] });
  started.push(p);
  const now = procOf(p.child.pid!);
  expect(now.env[KEY]).toBe(SERVER_JSC_OPTIONS[KEY]!);
  expect(readFileSync(`/proc/${p.child.pid}/comm`, "utf8").trim()).toBe("cantrip-serve");
  expect(now.argv[0]).toBe(link);
});

test.skipIf(process.platform !== "linux")("started with a relative `bun --cwd`, the restarted server starts (it is given the directory the first start moved to)", async () => {
  const p = await startCantrip({ cwd: dirname(ROOT), execArgv: [`--cwd=${basename(ROOT)}`], unsetEnv: [KEY] });
  started.push(p);
  const now = procOf(p.child.pid!);
  expect(now.env[KEY]).toBe(SERVER_JSC_OPTIONS[KEY]!);
  expect(now.argv).toContain(`--cwd=${ROOT}`);
});

test("scripts/bun.mjs sets the same options (npm start and npm test start once)", () => {
  const text = readFileSync(join(import.meta.dir, "..", "..", "scripts", "bun.mjs"), "utf8");
  const set = /const JSC_OPTIONS = (\{[^}]*\});/.exec(text)?.[1];
  expect(set).toBeDefined();
  expect(JSON.parse(set!)).toEqual({ ...SERVER_JSC_OPTIONS });
});

test.skipIf(process.platform !== "linux")("a value in a .env file, which JSC never reads, is passed on by the restart, and JSC runs with it", async () => {
  const cwd = tempDir("cantrip-dotenv-");
  writeFileSync(join(cwd, ".env"), `${KEY}=16\n`);
  const p = await startCantrip({ cwd, unsetEnv: [KEY], env: { BUN_JSC_logWasmMemory: "1" } });
  started.push(p);
  expect(procOf(p.child.pid!).env[KEY]).toBe("16");
  // JSC's own count of fast memories, against the operator's 16 (the prestarted worker makes the first one).
  const deadline = Date.now() + 20_000;
  while (!/fast memories = +\d+\/\d+,/.test(p.stderr()) && Date.now() < deadline) await Bun.sleep(50);
  expect(p.stderr()).toMatch(/fast memories = +\d+\/16,/);
});

test.skipIf(process.platform !== "linux")("under a debugger the server keeps its process: the debugger URL it printed stays the one to attach to", async () => {
  const inspectPort = await freePort();
  const p = await startCantrip({ unsetEnv: [KEY], execArgv: [`--inspect=127.0.0.1:${inspectPort}`] });
  started.push(p);
  const urls = p.stderr().match(/ws:\/\/\S+/g) ?? [];
  expect(urls).toHaveLength(1);
  const attached = await new Promise<boolean>((resolve) => {
    const ws = new WebSocket(urls[0]!);
    ws.onopen = () => (ws.close(), resolve(true));
    ws.onerror = () => resolve(false);
  });
  expect(attached).toBe(true);
  expect(procOf(p.child.pid!).env[KEY]).toBeUndefined();
  expect(p.stderr()).toContain("restarting with it would drop the debugger's session");
});

test.skipIf(process.platform !== "linux")("started with an IPC channel (fork(), pm2's fork mode) the server keeps its process and the channel", async () => {
  const p = await startCantrip({ unsetEnv: [KEY], ipc: true });
  started.push(p);
  let disconnected = false;
  p.child.on("disconnect", () => (disconnected = true));
  await Bun.sleep(200);
  expect(disconnected).toBe(false);
  expect(p.child.connected).toBe(true);
  expect(p.stderr()).toContain("restarting with it would drop the IPC channel to the parent process");
});

test.skipIf(process.platform !== "linux")("a restart that fails (an environment at the kernel's size limit) leaves the server serving with JSC's defaults, and it says why", async () => {
  const main = join(ROOT, "src", "main.ts");
  const dataDir = tempDir("cantrip-e2big-");
  const port = await freePort();
  const args = [main, "serve", "--port", String(port), "--data-dir", dataDir, "--log-requests", "false"];
  // The largest environment this exact start fits in: `bun -e <code>` with as many arguments
  // and bytes ("-e" and the code stand in for the script and "serve") probes the kernel's limit
  // on argument and environment size; the restart adds the option to it and cannot fit.
  const probeArgs = ["-e", "0".padEnd(main.length + "serve".length - "-e".length), ...args.slice(2)];
  const envOf = (bytes: number) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
    for (let i = 0; i < Math.floor(bytes / 100_000); i++) env[`FILL${i}`] = "x".repeat(100_000);
    env.FILL_REST = "y".repeat(bytes % 100_000);
    return env;
  };
  const fits = (bytes: number) => spawnSync(process.execPath, probeArgs, { env: envOf(bytes), stdio: "ignore" }).error === undefined;
  let lo = 0;
  let hi = 8_000_000; // above the limit on any Linux (at most 3/4 of the 8 MiB _STK_LIM)
  expect(fits(lo)).toBe(true);
  expect(fits(hi)).toBe(false);
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const child = spawn(process.execPath, args, { env: envOf(lo), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    let healthy = false;
    const deadline = Date.now() + 20_000;
    while (!healthy && child.exitCode === null && Date.now() < deadline) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!healthy) await Bun.sleep(50);
    }
    expect(healthy).toBe(true);
    expect(procOf(child.pid!).env[KEY]).toBeUndefined();
    expect(stderr).toMatch(/cantrip: running with JavaScriptCore's defaults, not BUN_JSC_maxNumWasmFastMemories=1024 BUN_JSC_useWarmUpMarkedBlocks=0: could not restart with it \(E2BIG/);
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  }
});
