#!/usr/bin/env node
// Runs the pinned Bun with the given arguments, installing it (from the npm registry, into
// ./.tools) and the project's dependencies (from the lockfile) first when missing. This is
// what lets `npm start` and `npm test` work on a machine that has only Node and npm.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const BUN_VERSION = "1.4.5";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tools = join(root, ".tools");
const localBun = join(tools, "node_modules", ".bin", "bun");

function versionOf(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function findBun() {
  if (process.env.BUN_BIN && versionOf(process.env.BUN_BIN) === BUN_VERSION) return process.env.BUN_BIN;
  if (versionOf("bun") === BUN_VERSION) return "bun";
  if (existsSync(localBun) && versionOf(localBun) === BUN_VERSION) return localBun;
  process.stderr.write(`Installing Bun ${BUN_VERSION} from the npm registry into .tools/ ...\n`);
  mkdirSync(tools, { recursive: true });
  if (!existsSync(join(tools, "package.json"))) writeFileSync(join(tools, "package.json"), '{"private":true}\n');
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", tools, `bun@${BUN_VERSION}`], { stdio: "inherit" });
  if (r.status !== 0 || versionOf(localBun) !== BUN_VERSION) {
    process.stderr.write(`Could not install Bun ${BUN_VERSION}; install it with: npm i -g bun@${BUN_VERSION}\n`);
    process.exit(1);
  }
  return localBun;
}

function ensureDeps(bun) {
  const lock = readFileSync(join(root, "bun.lock"));
  const want = createHash("sha256").update(lock).digest("hex");
  const stamp = join(root, "node_modules", ".cantrip-lock-hash");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  process.stderr.write("Installing dependencies from bun.lock ...\n");
  const r = spawnSync(bun, ["install", "--frozen-lockfile"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, want);
}

const bun = findBun();
ensureDeps(bun);
// The JavaScriptCore options the server runs with (src/runtime/jsc-options.ts, SERVER_JSC_OPTIONS;
// test/runtime/jsc-options.test.ts checks the two agree): set here, `serve` starts once instead
// of re-executing itself, and the tests' in-process sandboxes run as the server's do.
const JSC_OPTIONS = { "BUN_JSC_maxNumWasmFastMemories": "1024", "BUN_JSC_useWarmUpMarkedBlocks": "0" };
const env = { ...process.env };
for (const [k, v] of Object.entries(JSC_OPTIONS)) env[k] ??= v;
const child = spawn(bun, process.argv.slice(2), { cwd: process.cwd(), stdio: "inherit", env });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
