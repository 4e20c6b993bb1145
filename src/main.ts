#!/usr/bin/env bun
/**
 * cantrip's entry point: `cantrip serve` starts the server; the other commands are
 * operator tools that work on the local data dir, or clients of the HTTP API (src/cli).
 * Config is parsed once here from flags and the environment and passed down.
 */
import { Command, Option } from "commander";
import { join, resolve } from "node:path";
import { boot, StartupError, VERSION } from "./boot";
import { ConfigError, loadConfig, settings, type SettingSpec } from "./config";
import { createPlatformToken, firstWorkspaceId } from "./auth";
import { openDatabase } from "./db";
import { registerClientCommands, runCli } from "./cli";

function fail(message: string, code = 1): never {
  process.stderr.write(`cantrip: ${message}\n`);
  process.exit(code);
}

function configFrom(flags: Record<string, unknown>) {
  // commander camel-cases flag names; loadConfig wants the kebab-case spelling.
  const kebab: Record<string, string | boolean | undefined> = {};
  for (const spec of Object.values(settings) as SettingSpec[]) {
    if (!spec.flag) continue;
    const camel = spec.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = flags[camel];
    if (v !== undefined) kebab[spec.flag] = v as string | boolean;
  }
  try {
    return loadConfig(process.env, kebab);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
}

function addSettingFlags(cmd: Command, keys: (keyof typeof settings)[]): Command {
  for (const key of keys) {
    const spec = settings[key] as SettingSpec;
    const opt = new Option(`--${spec.flag} <value>`, `${spec.doc} [env ${spec.env}]`);
    cmd.addOption(opt);
  }
  return cmd;
}

const program = new Command("cantrip").version(VERSION).description("Plain-English requirements in, running sandboxed backend APIs out.");

addSettingFlags(
  program.command("serve").description("Start the cantrip server."),
  Object.keys(settings) as (keyof typeof settings)[],
).action(async (flags: Record<string, unknown>) => {
  const config = configFrom(flags);
  try {
    const app = await boot(config, { announce: (line) => process.stdout.write(line + "\n\n") });
    process.stdout.write(`cantrip ${VERSION} listening on ${app.url}  (docs: ${app.url}/docs, dashboard: ${app.url}/)\n`);
    if (app.appsUrl) process.stdout.write(`apps listening on ${app.appsUrl}  (/apps/{slug}/ on their own origin)\n`);
    const shutdown = async () => {
      await app.stop();
      process.exit(0);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  } catch (e) {
    if (e instanceof StartupError) fail(e.message);
    throw e;
  }
});

const token = program.command("token").description("Platform tokens (operator access to the local data dir).");
addSettingFlags(token.command("create").description("Mint a platform token for the workspace.").requiredOption("--name <name>", "token name"), ["dataDir"]).action(
  (flags: Record<string, unknown>) => {
    const config = configFrom(flags);
    const { db, close } = openDatabase(join(resolve(config.dataDir), "cantrip.db"));
    const ws = firstWorkspaceId(db);
    if (!ws) fail("no workspace yet: start the server once with `cantrip serve` first");
    const created = createPlatformToken(db, ws, String(flags.name));
    close();
    process.stdout.write(created.token + "\n");
  },
);

addSettingFlags(
  program.command("selftest").description("Check that the sandbox and the bundler work in this build (used by CI on the executable)."),
  ["dataDir"],
).action(async (flags: Record<string, unknown>) => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { createRuntime, createSqliteKv, runSelftest } = await import("./runtime");
  const { createBundler } = await import("./bundle");
  const dataDir = flags.dataDir ? resolve(String(flags.dataDir)) : mkdtempSync(join(tmpdir(), "cantrip-selftest-"));
  const { db, close } = openDatabase(join(dataDir, "cantrip.db"));
  const runtime = createRuntime({ workers: 1, kv: createSqliteKv(db), secrets: () => null, egress: {} });
  const bundler = createBundler({ dataDir });
  try {
    const sandbox = await runSelftest(runtime);
    process.stdout.write(`sandbox: ${sandbox.ok ? "ok" : "FAILED"} (${sandbox.detail})\n`);
    const built = await bundler.tryBundle({
      files: { "index.ts": 'import { defineBackend } from "cantrip";\nimport { n } from "./n";\nexport default defineBackend({ routes: { "GET /": async () => ({ n }) } });\n', "n.ts": "export const n: number = 42;\n" },
      entrypoint: "index.ts",
    });
    process.stdout.write(`bundler: ${built.ok ? `ok (${built.sizeBytes} bytes)` : `FAILED ${built.message}`}\n`);
    if (!sandbox.ok || !built.ok) process.exitCode = 1;
  } finally {
    await runtime.close();
    await bundler.close();
    close();
  }
});

registerClientCommands(program);
const code = await runCli(program, process.argv);
// serve keeps running (its server holds the event loop); every other command exits with its code.
if (process.argv[2] !== "serve" || code !== 0) process.exit(code);
