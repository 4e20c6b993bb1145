/**
 * The downloadable artifact of a version: its source files, the bundle, spec.json,
 * validation.json and a README, as a .zip or a .tar.gz. Built in memory.
 */
import { gzipSync, strToU8, zipSync } from "fflate";
import { packTar } from "modern-tar";
import { joinWithinRoot } from "../bundle/paths";
import type { VersionRow } from "../deploy";

export function artifactFiles(agent: { name: string; slug: string; prompt: string | null }, v: VersionRow): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [path, content] of Object.entries(v.files)) files[`src/${path}`] = content;
  if (v.bundle) files["bundle.js"] = v.bundle;
  files["spec.json"] = JSON.stringify(v.spec ?? null, null, 2) + "\n";
  files["validation.json"] = JSON.stringify(v.validation ?? null, null, 2) + "\n";
  files["described.json"] = JSON.stringify(v.described ?? null, null, 2) + "\n";
  const routes = ((v.described as { routes?: { method: string; path: string; summary?: string }[] } | null)?.routes ?? [])
    .map((r) => `- \`${r.method} ${r.path}\`${r.summary ? ` — ${r.summary}` : ""}`)
    .join("\n");
  files["README.md"] = `# ${agent.name}

Version ${v.number} of the cantrip backend \`${agent.slug}\` (${v.origin}).
${agent.prompt ? `\n## Requirements\n\n${agent.prompt}\n` : ""}
## Routes

${routes || "(none declared)"}

## Files

- \`src/\` — the TypeScript source (entrypoint \`src/${v.entrypoint}\`), written against the \`cantrip\` SDK
- \`bundle.js\` — the ESM bundle cantrip runs in its sandbox (\`"cantrip"\` is provided by the runtime)
- \`spec.json\` — the plan: routes, schemas, validation rules, worked examples
- \`validation.json\` — the validation report of this version
- \`described.json\` — routes and JSON schemas as the backend describes itself

Redeploy it on any cantrip server with \`cantrip upload ${agent.slug} src/${v.entrypoint} --deploy\`.
`;
  return files;
}

/** The archive path of one artifact file: under `root`, with "." and ".." already resolved. */
function entryName(root: string, path: string): string {
  return `${root}/${joinWithinRoot("", path) ?? path}`;
}

const MTIME = new Date("2020-01-01T00:00:00Z");

export function zipArtifact(files: Record<string, string>, root: string): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [p, c] of Object.entries(files)) entries[entryName(root, p)] = strToU8(c);
  return zipSync(entries, { level: 6, mtime: MTIME });
}

/**
 * A gzipped POSIX tar (ustar, with PAX headers for names longer than ustar's 100 + 155
 * bytes or not plain ASCII), written by modern-tar. Every name upload accepts
 * (src/bundle/paths.ts: up to 200 characters, any Unicode) fits.
 */
export async function tarGzArtifact(files: Record<string, string>, root: string): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const entries = Object.entries(files).map(([p, c]) => {
    const body = enc.encode(c);
    return { header: { name: entryName(root, p), size: body.byteLength, mtime: MTIME, mode: 0o644, type: "file" as const }, body };
  });
  return gzipSync(await packTar(entries), { level: 6, mtime: MTIME });
}
