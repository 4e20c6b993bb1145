/**
 * The downloadable artifact of a version: its source files, the bundle, spec.json,
 * validation.json and a README, as a .zip or a .tar.gz. Built in memory.
 */
import { gzipSync, strToU8, zipSync } from "fflate";
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

export function zipArtifact(files: Record<string, string>, root: string): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [p, c] of Object.entries(files)) entries[`${root}/${p}`] = strToU8(c);
  return zipSync(entries, { level: 6, mtime: new Date("2020-01-01T00:00:00Z") });
}

/** A minimal ustar archive, gzipped. */
export function tarGzArtifact(files: Record<string, string>, root: string): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const [p, c] of Object.entries(files)) {
    const data = enc.encode(c);
    const h = new Uint8Array(512);
    const name = `${root}/${p}`;
    const write = (s: string, off: number, len: number) => h.set(enc.encode(s).subarray(0, len), off);
    if (name.length > 100) {
      // ustar: prefix (up to 155) + "/" + name (up to 100), split at a directory boundary.
      let cut = name.lastIndexOf("/", 155);
      while (cut > 0 && name.length - cut - 1 > 100) cut = -1;
      if (cut <= 0) throw new Error(`path too long for tar: ${name}`);
      write(name.slice(cut + 1), 0, 100);
      write(name.slice(0, cut), 345, 155);
    } else write(name, 0, 100);
    write("0000644\0", 100, 8);
    write("0000000\0", 108, 8);
    write("0000000\0", 116, 8);
    write(data.length.toString(8).padStart(11, "0") + "\0", 124, 12);
    write(Math.floor(Date.parse("2020-01-01") / 1000).toString(8).padStart(11, "0") + "\0", 136, 12);
    write("        ", 148, 8);
    h[156] = "0".charCodeAt(0);
    write("ustar\0", 257, 6);
    write("00", 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
    blocks.push(h, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) blocks.push(new Uint8Array(pad));
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const tar = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) {
    tar.set(b, off);
    off += b.length;
  }
  return gzipSync(tar, { level: 6 });
}
