/**
 * The README's CLI table against the real `cantrip --help`: every top-level command has a
 * row and every row names a real command, and every `--flag` a row mentions is one that
 * command (or one of its subcommands) accepts. Runs the CLI as a process, as a user would.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const start = readme.indexOf("\n## CLI\n");
const section = readme.slice(start, readme.indexOf("\n## ", start + 5));

function help(args: string[]): string {
  const r = Bun.spawnSync(["bun", join(ROOT, "src/main.ts"), ...args, "--help"], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  expect(r.exitCode).toBe(0);
  return r.stdout.toString();
}

/** Command names listed under "Commands:" in a help text (without `help`). */
const commandsIn = (text: string) =>
  [...(text.split("\nCommands:\n")[1] ?? "").matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");

/** README rows: the command cell's backticked parts. */
const rows = section
  .split("\n")
  .filter((l) => l.startsWith("| `"))
  .map((l) => [...l.split(/(?<!\\)\|/)[1]!.matchAll(/`([^`]*)`/g)].map((m) => m[1]!));

const top = commandsIn(help([]));

test("every top-level command has a README row, and every row is a real command", () => {
  const documented = new Set(rows.flatMap((parts) => parts.map((p) => p.split(" ")[0]!)));
  expect(top.filter((c) => !documented.has(c))).toEqual([]);
  expect([...documented].filter((c) => !top.includes(c))).toEqual([]);
}, 60_000);

test("every flag a README row names is accepted by that command", () => {
  const memo = new Map<string, string>();
  const helpOf = (args: string[]) => {
    const k = args.join(" ");
    if (!memo.has(k)) memo.set(k, help(args));
    return memo.get(k)!;
  };
  const missing: string[] = [];
  for (const parts of rows)
    for (const part of parts) {
      const flags = part.match(/--[a-z][a-z-]*/g) ?? [];
      const [cmd, word] = part.split(" ");
      if (!flags.length || cmd === "serve") continue; // serve's flags are the settings: config-table.test.ts
      const args = word && commandsIn(helpOf([cmd!])).includes(word) ? [cmd!, word] : [cmd!];
      for (const flag of flags) if (!new RegExp(`(^|[ ,])${flag}\\b`, "m").test(helpOf(args))) missing.push(`${args.join(" ")} ${flag}`);
    }
  expect(missing).toEqual([]);
}, 60_000);
