/**
 * `serve` runs with the JavaScriptCore options the sandbox needs (src/runtime/jsc-options.ts):
 * started without them it re-executes itself in place with them (same pid, same arguments),
 * an operator's own value is kept, and with them every QuickJS interpreter the server makes
 * gets a fast memory without a synchronous full collection first — which, with JSC's default
 * of 8, every interpreter after the eighth paid (issue 15).
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { api, startCantrip, type CantripProcess } from "../../bench/lib/cantrip-process";
import { missingJscOptions, restartArgv, SERVER_JSC_OPTIONS } from "../../src/runtime/jsc-options";

const KEY = "BUN_JSC_maxNumWasmFastMemories";
const started: CantripProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    await p.stop();
    rmSync(p.dataDir, { recursive: true, force: true });
  }
});

/** The environment and argument vector the process `pid` runs with now (Linux /proc). */
function procOf(pid: number): { env: Record<string, string>; argv: string[] } {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { env, argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean) };
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

test.skipIf(process.platform !== "linux")("an operator's own value is kept, without a re-exec", async () => {
  const p = await startCantrip({ env: { [KEY]: "16" } });
  started.push(p);
  expect(procOf(p.child.pid!).env[KEY]).toBe("16");
});

test("missingJscOptions names only what the environment lacks", () => {
  expect(missingJscOptions({})).toEqual({ ...SERVER_JSC_OPTIONS });
  expect(missingJscOptions({ [KEY]: "4" })).toEqual({});
});

test("restartArgv starts the same program again, from source or as the executable", () => {
  const fromSource = { execPath: "/usr/bin/bun", execArgv: ["--smol"], argv: ["/usr/bin/bun", "/app/src/main.ts", "serve", "--port", "1"] };
  expect(restartArgv(fromSource, false)).toEqual(["/usr/bin/bun", "--smol", "/app/src/main.ts", "serve", "--port", "1"]);
  // A compiled executable's argv[0] is "bun" and argv[1] its embedded path: the executable supplies its own entry.
  const compiled = { execPath: "/opt/cantrip", execArgv: [], argv: ["bun", "/$bunfs/root/cantrip", "serve", "--port", "1"] };
  expect(restartArgv(compiled, true)).toEqual(["/opt/cantrip", "serve", "--port", "1"]);
});

test("scripts/bun.mjs sets the same options (npm start and npm test start once)", () => {
  const text = readFileSync(join(import.meta.dir, "..", "..", "scripts", "bun.mjs"), "utf8");
  const set = /const JSC_OPTIONS = (\{[^}]*\});/.exec(text)?.[1];
  expect(set).toBeDefined();
  expect(JSON.parse(set!)).toEqual({ ...SERVER_JSC_OPTIONS });
});
