/**
 * Which vendored web-platform-tests run, and what each needs: the `.any.js` files under
 * test/wpt/upstream (unmodified upstream files, see SOURCES.txt), their `// META: script=`
 * dependencies, and the resource files a test fetches by name. SKIP lists the files left
 * out, each with its reason (slow under the interpreter, or needing what no backend
 * platform has: a document, workers, SharedArrayBuffer, a live WPT server).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

export const UPSTREAM = join(import.meta.dir, "upstream");

/** Files not run, by path under upstream/, with the reason. */
export const SKIP: Record<string, string> = {
  "url/idlharness.any.js": "needs /resources/idlharness.js and WebIDL files (not vendored)",
  "hr-time/idlharness.any.js": "needs /resources/idlharness.js and WebIDL files (not vendored)",
  "fetch/api/request/request-bad-port.any.js": "fetches real hosts on forbidden ports (network; 10 s in Bun)",
  "html/webappapis/timers/evil-spec-example.any.js": "never completes in a shell global (10 s timeout in Bun too)",
  "streams/readable-streams/owning-type-message-port.any.js": "needs MessageChannel (no backend platform here has it)",
  "streams/readable-streams/owning-type-video-frame.any.js": "needs VideoFrame",
  "FileAPI/file/send-file-formdata-controls.any.js": "posts to a live WPT server",
  "FileAPI/file/send-file-formdata-punctuation.any.js": "posts to a live WPT server",
  "FileAPI/file/send-file-formdata-utf-8.any.js": "posts to a live WPT server",
  "FileAPI/file/send-file-formdata.any.js": "posts to a live WPT server",
  "fetch/api/request/request-cache-default-conditional.any.js": "needs a live WPT server",
  "fetch/api/request/request-cache-default.any.js": "needs a live WPT server",
  "fetch/api/request/request-cache-force-cache.any.js": "needs a live WPT server",
  "fetch/api/request/request-cache-no-cache.any.js": "needs a live WPT server",
  "fetch/api/request/request-cache-no-store.any.js": "needs a live WPT server",
  "fetch/api/request/request-cache-only-if-cached.any.js": "needs a live WPT server",
  "fetch/api/request/request-cache-reload.any.js": "needs a live WPT server",
};

export interface WptFile {
  /** Path under upstream/, e.g. "url/url-constructor.any.js". */
  path: string;
  /** Scripts to evaluate in order (META scripts, then the test), as paths under upstream/. */
  scripts: string[];
  /** Every file the run needs (testharness, scripts, fetched resources), path → text. */
  files: Record<string, string>;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".any.js")) out.push(relative(UPSTREAM, p));
  }
  return out;
}

const read = (path: string) => readFileSync(join(UPSTREAM, path), "utf8");

/** Every runnable `.any.js` file (SKIP excluded), sorted by path. */
export function listTests(): string[] {
  return walk(UPSTREAM).filter((p) => !SKIP[p]);
}

/** Resolves a META script reference (absolute from the WPT root, or relative to the test). */
function resolveRef(testPath: string, ref: string): string {
  return ref.startsWith("/") ? normalize(ref.slice(1)) : normalize(join(dirname(testPath), ref));
}

/** The test's scripts and the files they need. Throws when a META script is not vendored. */
export function loadTest(path: string): WptFile {
  const source = read(path);
  const scripts: string[] = [];
  for (const m of source.matchAll(/^\/\/ META: script=(\S+)/gm)) {
    const p = resolveRef(path, m[1]!);
    if (!existsSync(join(UPSTREAM, p))) throw new Error(`${path}: META script ${m[1]} is not vendored`);
    scripts.push(p);
  }
  scripts.push(path);
  const files: Record<string, string> = { "resources/testharness.js": read("resources/testharness.js") };
  for (const s of scripts) files[s] = read(s);
  // Resource files fetched by name from the test's own resources/ folder (or its parent's).
  const text = scripts.map((s) => files[s]).join("\n");
  for (const d of [join(dirname(path), "resources"), join(dirname(path), "..", "resources")]) {
    const abs = join(UPSTREAM, d);
    if (!existsSync(abs)) continue;
    for (const name of readdirSync(abs)) {
      if (!/\.(json|txt)$/.test(name) || !text.includes(name)) continue;
      files[normalize(join(d, name))] = read(normalize(join(d, name)));
    }
  }
  return { path, scripts, files };
}

export const ADAPTER = readFileSync(join(import.meta.dir, "adapter.js"), "utf8");

/** A subtest outcome as the adapter reports it: [name, status, message]. */
export type SubtestResult = [string, number, string | null];

export interface FileOutcome {
  results: SubtestResult[];
  end: { status: number; message: string | null };
  harnessError: string | null;
}

export const passed = (o: FileOutcome) => o.results.filter((r) => r[1] === 0).length;
