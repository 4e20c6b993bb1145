/**
 * Resolves where the CLI talks to and with which token: --url / CANTRIP_URL (default the
 * local server), --token / CANTRIP_TOKEN (default the admin token file in the local data
 * dir, so a CLI on the same machine works with no setup). Also output helpers for --json.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ApiClient } from "./client";

export interface GlobalOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
}

export function clientFrom(opts: GlobalOptions, env: Record<string, string | undefined> = process.env): ApiClient {
  const port = env.CANTRIP_PORT ?? "7878";
  const url = opts.url ?? env.CANTRIP_URL ?? `http://127.0.0.1:${port}`;
  let token = opts.token ?? env.CANTRIP_TOKEN ?? null;
  if (!token) {
    const file = join(resolve(opts.dataDir ?? env.CANTRIP_DATA_DIR ?? "./.cantrip"), "admin-token");
    if (existsSync(file)) token = readFileSync(file, "utf8").trim();
  }
  return new ApiClient({ url, token });
}

/** C0 and C1 control characters other than tab and newline (ESC starts terminal escape sequences). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from the server made safe to write to a terminal: control characters are shown as
 * `\u001b`-style escapes instead of being sent. Much of what the CLI prints was written by
 * others (a model server's error text in a job's log, names a model chose, backend output),
 * and a raw ESC lets that text retitle the window, hide lines or write the clipboard.
 */
export function terminalText(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function print(opts: GlobalOptions, value: unknown, human: () => string): void {
  process.stdout.write((opts.json ? JSON.stringify(value, null, 2) : terminalText(human())) + "\n");
}

export function table(rows: Record<string, unknown>[], cols: string[]): string {
  if (!rows.length) return "(none)";
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ""))))].join("\n");
}

/** Reads a JSON argument: inline JSON, @file, or - for stdin. */
export async function readJsonArg(arg: string | undefined): Promise<unknown> {
  if (arg === undefined) return {};
  let text = arg;
  if (arg === "-") text = await new Response(Bun.stdin.stream()).text();
  else if (arg.startsWith("@")) text = readFileSync(arg.slice(1), "utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`not valid JSON: ${arg.length > 60 ? arg.slice(0, 60) + "..." : arg}`);
  }
}

export class UsageError extends Error {}
