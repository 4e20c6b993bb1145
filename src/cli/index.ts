/**
 * The `cantrip` command line's client commands (everything but serve/token/selftest, which
 * live in src/main.ts because they touch the local process or data dir). Errors map to
 * exit codes: 2 usage, 3 API error (its code printed), 4 connection failure.
 */
import { Command, CommanderError } from "commander";
import { ApiError, ConnectionError, EXIT } from "./client";
import { terminalText, UsageError, type GlobalOptions } from "./context";
import { registerAgentCommands } from "./commands/agents";
import { registerKeyCommands } from "./commands/keys";
import { registerGenerateCommands } from "./commands/generate";
import { registerBuildCommand } from "./commands/build";
import { registerMcpCommand } from "./commands/mcp";

export { EXIT, ApiClient, ApiError, ConnectionError } from "./client";

export function registerClientCommands(program: Command): void {
  program
    .option("--url <url>", "cantrip server URL [env CANTRIP_URL, default http://127.0.0.1:$CANTRIP_PORT, port 7878 when unset]")
    .option("--token <token>", "platform token [env CANTRIP_TOKEN, default the admin-token file in $CANTRIP_DATA_DIR, ./.cantrip when unset]")
    .option("--json", "machine-readable output");
  const g = (): GlobalOptions => program.opts() as GlobalOptions;
  registerGenerateCommands(program, g);
  registerBuildCommand(program, g);
  registerAgentCommands(program, g);
  registerKeyCommands(program, g);
  registerMcpCommand(program, g);
}

/** Runs the program and turns errors into one line on stderr and a distinct exit code. */
export async function runCli(program: Command, argv: string[]): Promise<number> {
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    const json = (program.opts() as GlobalOptions).json;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`cantrip: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof ApiError) {
      if (json) process.stdout.write(JSON.stringify({ error: { status: e.status, code: e.code, message: e.message, details: e.details } }) + "\n");
      process.stderr.write(`cantrip: ${terminalText(`${e.code}: ${e.message}`)}\n`);
      return EXIT.api;
    }
    if (e instanceof ConnectionError) {
      process.stderr.write(`cantrip: ${e.message}\n`);
      return EXIT.connection;
    }
    process.stderr.write(`cantrip: ${terminalText((e as Error).message)}\n`);
    return EXIT.failure;
  }
}
