/**
 * Turns esbuild's messages into cantrip diagnostics, which the generation pipeline pastes
 * into a repair prompt: project paths without esbuild's namespace prefix, 1-based
 * character columns (esbuild counts UTF-8 bytes from 0), notes folded into the message,
 * and a compact text rendering in the familiar "file:line:col: error: ..." form.
 */
import type { Message } from "esbuild";
import { PROJECT_NAMESPACE } from "./project-plugin";
import type { Diagnostic } from "./types";

/** At most this many diagnostics are kept; a repair prompt needs the first few, not all. */
export const MAX_DIAGNOSTICS = 50;

function projectPath(file: string): string {
  const prefix = PROJECT_NAMESPACE + ":";
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}

/** esbuild's column is a 0-based UTF-8 byte offset into lineText; ours counts UTF-16 units from 1. */
function characterColumn(lineText: string, byteColumn: number): number {
  const bytes = Buffer.from(lineText, "utf8");
  return bytes.subarray(0, Math.min(byteColumn, bytes.length)).toString("utf8").length + 1;
}

/** esbuild quotes paths inside message texts with their namespace ("project:m.js"); drop it. */
function cleanText(text: string): string {
  return text.replaceAll(`"${PROJECT_NAMESPACE}:`, '"');
}

export function fromEsbuild(message: Message, severity: Diagnostic["severity"], fallbackFile: string): Diagnostic {
  const loc = message.location;
  const notes = message.notes
    .map((n) => (n.location ? `${cleanText(n.text)} (${projectPath(n.location.file)}:${n.location.line})` : cleanText(n.text)))
    .filter((t) => t.length > 0);
  const text = notes.length > 0 ? `${cleanText(message.text)} ${notes.join(" ")}` : cleanText(message.text);
  if (!loc) return { file: fallbackFile, line: 0, column: 0, message: text, severity };
  return {
    file: projectPath(loc.file) || fallbackFile,
    line: loc.line,
    column: characterColumn(loc.lineText, loc.column),
    message: text,
    severity,
    lineText: loc.lineText,
  };
}

export function fromEsbuildAll(messages: Message[], severity: Diagnostic["severity"], fallbackFile: string): Diagnostic[] {
  return messages.slice(0, MAX_DIAGNOSTICS).map((m) => fromEsbuild(m, severity, fallbackFile));
}

/** "src/index.ts:2:15: error: Cannot import ..." followed by the source line and a caret. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file || "(project)";
  let out = `${where}: ${d.severity}: ${d.message}`;
  if (d.lineText !== undefined && d.line > 0) {
    const gutter = `${d.line} | `;
    out += `\n    ${gutter}${d.lineText}\n    ${" ".repeat(gutter.length - 2)}| ${" ".repeat(Math.max(0, d.column - 1))}^`;
  }
  return out;
}

export function formatDiagnostics(ds: Diagnostic[]): string {
  return ds.map(formatDiagnostic).join("\n");
}

/** One-line summary for an AppError message: the first problem and how many more. */
export function summarize(ds: Diagnostic[]): string {
  const first = ds[0];
  if (!first) return "The source could not be bundled.";
  const where = first.line > 0 ? `${first.file}:${first.line}:${first.column}` : first.file;
  const more = ds.length > 1 ? ` (and ${ds.length - 1} more)` : "";
  return `${where ? where + ": " : ""}${first.message}${more}`;
}

/** Rewrites the source map's "project:src/x.ts" sources to plain project paths. */
export function cleanSourceMap(json: string): string {
  const map = JSON.parse(json) as { sources?: string[] };
  map.sources = (map.sources ?? []).map(projectPath);
  return JSON.stringify(map);
}
