/**
 * cantrip's commands (src/main.ts loads this after src/prestart.ts has run): `cantrip serve`
 * starts the server; the other commands are operator tools that work on the local data dir,
 * or clients of the HTTP API (src/cli). Config is parsed once here from flags and the
 * environment and passed down.
 */
import { Command, Option } from "commander";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
// The server's modules (./boot, ~130 of ~200 ms of loading at load 9) load in `serve` only:
// client commands start in ~0.06–0.10 s instead of 0.14–0.21 s (issue 15).
import { ConfigError, loadConfig, settings, type SettingSpec } from "./config";
import { existsSync } from "node:fs";
import { createPlatformToken, createWorkspace, findWorkspace, firstWorkspaceId, listWorkspaces } from "./auth";
import { checkDatabaseFile, restoreDatabase, RestoreError, snapshotDatabase, SnapshotError } from "./ops";
import { openDatabase, openStore } from "./db";
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

/** `env X, a|b, default Y` for a setting's --help line (no default shown when it is empty: the doc says what happens). */
function settingHelpTail(spec: SettingSpec): string {
  const d = spec.default;
  const empty = d === "" || d === undefined || (Array.isArray(d) && d.length === 0);
  return [`env ${spec.env}`, spec.values ? spec.values.join("|") : "", empty ? "" : `default ${Array.isArray(d) ? d.join(",") : String(d)}`].filter(Boolean).join(", ");
}

function addSettingFlags(cmd: Command, keys: (keyof typeof settings)[]): Command {
  for (const key of keys) {
    const spec = settings[key] as SettingSpec;
    const opt = new Option(`--${spec.flag} <value>`, `${spec.doc} [${settingHelpTail(spec)}]`);
    cmd.addOption(opt);
  }
  return cmd;
}

const VERSION: string = pkg.version;

const program = new Command("cantrip").version(VERSION).description("Plain-English requirements in, running sandboxed backend APIs out.");

addSettingFlags(
  program.command("serve").description("Start the cantrip server."),
  Object.keys(settings) as (keyof typeof settings)[],
).action(async (flags: Record<string, unknown>) => {
  const config = configFrom(flags);
  const { boot, StartupError } = await import("./boot");
  let listening = false;
  const booting = boot(config, { announce: (line) => process.stdout.write(line + "\n\n"), onListening: () => (listening = true) });
  // Handled from the start: the listeners open before boot() resolves (the data plane listens
  // first, src/boot.ts), and a stop then must still answer the calls in flight and flush the
  // invocation log. Before the listeners open there is nothing to drain, and a second signal
  // means "now": both exit at once, as an unhandled signal would.
  let stopping: Promise<void> | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping || !listening) process.exit(signal === "SIGINT" ? 130 : 143);
    stopping = booting.then(
      async (app) => {
        await app.stop();
        process.exit(0);
      },
      () => {}, // (boot failed: the catch below reports it and exits)
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  try {
    const app = await booting;
    process.stdout.write(`cantrip ${VERSION} listening on ${app.url}  (docs: ${app.url}/docs, dashboard: ${app.url}/)\n`);
    if (app.appsUrl) process.stdout.write(`apps listening on ${app.appsUrl}  (/apps/{slug}/ on their own origin)\n`);
  } catch (e) {
    if (e instanceof StartupError) fail(e.message);
    throw e;
  }
});

/**
 * Opens the database an operator command works on: the cluster's PostgreSQL database when
 * CANTRIP_DATABASE_URL / --database-url is set (with the nodes' settings), else the local
 * data dir's SQLite file; refuses a data dir no server has set up. Exits with one line when
 * the database cannot be opened.
 */
async function operatorDb(flags: Record<string, unknown>) {
  const config = configFrom(flags);
  const file = join(resolve(config.dataDir), "cantrip.db");
  if (!config.databaseUrl && !existsSync(file)) fail(`no database in ${resolve(config.dataDir)}: start the server once with \`cantrip serve\` first`);
  try {
    return await openStore({ file, url: config.databaseUrl, poolMax: 2 });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    fail(`cannot open ${config.databaseUrl ? "the PostgreSQL database in CANTRIP_DATABASE_URL" : file}: ${(e as Error).message}`);
  }
}

/**
 * The backup commands work on the SQLite file; with a PostgreSQL database (the flag or the
 * variable, checked before the rest of the settings) they exit with one line naming its tools.
 */
function refuseOnPostgres(flags: Record<string, unknown>, command: "backup" | "restore"): void {
  const url = (flags.databaseUrl as string | undefined) ?? process.env.CANTRIP_DATABASE_URL;
  if (url)
    fail(
      `${command} works on the SQLite file in the data dir; this cantrip keeps its data in PostgreSQL (CANTRIP_DATABASE_URL): use ${command === "backup" ? "pg_dump (e.g. pg_dump -Fc -f cantrip.dump \"$CANTRIP_DATABASE_URL\")" : "pg_restore (e.g. pg_restore --clean -d \"$CANTRIP_DATABASE_URL\" cantrip.dump)"} instead`,
    );
}

const token = program.command("token").description("Platform tokens (operator access to the local data dir, or to the cluster's database with --database-url).");
addSettingFlags(
  token
    .command("create")
    .description("Mint a platform token (for the operator's workspace, or --workspace).")
    .requiredOption("--name <name>", "token name")
    .option("--workspace <id-or-name>", "workspace to mint it for (default: the operator's, created at first start)"),
  ["dataDir", "databaseUrl"],
).action(async (flags: Record<string, unknown>) => {
  const { db, close } = await operatorDb(flags);
  try {
    const ws = flags.workspace === undefined ? await firstWorkspaceId(db) : await findWorkspace(db, String(flags.workspace));
    if (!ws) fail(flags.workspace === undefined ? "no workspace yet: start the server once with `cantrip serve` first" : `no workspace with id or name "${flags.workspace}" (list them with \`cantrip workspace ls\`)`);
    process.stdout.write((await db.tx((tx) => createPlatformToken(tx, ws, String(flags.name)))).token + "\n");
  } finally {
    await close();
  }
});

const workspace = program.command("workspace").description("Workspaces, the isolation unit between tenants (operator: local data dir, or --database-url).");
addSettingFlags(workspace.command("create <name>").description("Create a workspace and print its first platform token."), ["dataDir", "databaseUrl"]).action(async (name: string, flags: Record<string, unknown>) => {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 120) fail("workspace name must be 1 to 120 characters", 2);
  const { db, close } = await operatorDb(flags);
  try {
    if (!await firstWorkspaceId(db)) fail("no workspace yet: start the server once with `cantrip serve` first (the first workspace is the operator's)");
    if (await findWorkspace(db, trimmed)) fail(`a workspace named "${trimmed}" already exists`);
    const created = await createWorkspace(db, trimmed);
    process.stderr.write(`workspace ${created.workspaceId} (${trimmed}) created; its first platform token:\n`);
    process.stdout.write(created.token.token + "\n");
  } finally {
    await close();
  }
});
addSettingFlags(workspace.command("ls").description("List workspaces (the first is the operator's)."), ["dataDir", "databaseUrl"]).action(async (flags: Record<string, unknown>) => {
  const { db, close } = await operatorDb(flags);
  try {
    for (const w of await listWorkspaces(db)) process.stdout.write(`${w.id}\t${w.name}\t${new Date(w.createdAt).toISOString()}\n`);
  } finally {
    await close();
  }
});

addSettingFlags(
  program.command("backup <file>").description("Write a consistent snapshot of the database to <file> (works while the server runs; keep secret.key safe too). SQLite only: on PostgreSQL use pg_dump."),
  ["dataDir", "databaseUrl"],
).action(async (file: string, flags: Record<string, unknown>) => {
  refuseOnPostgres(flags, "backup");
  const dataDir = resolve(configFrom(flags).dataDir);
  try {
    const snap = await snapshotDatabase(join(dataDir, "cantrip.db"), resolve(file));
    const check = checkDatabaseFile(snap.file);
    if (!check.ok) fail(`the snapshot at ${snap.file} does not check out: ${check.problem}`);
    process.stdout.write(`backup: ${snap.file} (${snap.bytes} bytes, ${snap.ms} ms, integrity ok, ${check.applied} migrations)\n`);
  } catch (e) {
    if (e instanceof SnapshotError) fail(e.message);
    throw e;
  }
});

addSettingFlags(
  program.command("restore <file>").description("Replace the data dir's database with a backup (the server must be stopped; the old database is kept beside it). SQLite only: on PostgreSQL use pg_restore."),
  ["dataDir", "databaseUrl"],
).action((file: string, flags: Record<string, unknown>) => {
  refuseOnPostgres(flags, "restore");
  const dataDir = resolve(configFrom(flags).dataDir);
  try {
    const r = restoreDatabase(resolve(file), dataDir);
    const pending = r.check.known - r.check.applied;
    process.stdout.write(`restored ${resolve(file)} into ${dataDir} (integrity ok, ${r.check.applied} of ${r.check.known} migrations${pending ? `; the next start applies the other ${pending}` : ""})\n`);
    if (r.previous) process.stdout.write(`the replaced database is kept at ${r.previous}\n`);
  } catch (e) {
    if (e instanceof RestoreError) fail(e.message);
    throw e;
  }
});

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
