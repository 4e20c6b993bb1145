/**
 * The compiled-executable path, end to end: compile a tiny program around the bundler
 * with `bun build --compile`, run it from an empty directory (no node_modules anywhere
 * near it), and check that it extracts esbuild into its data dir and bundles a project.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "cantrip-compiled-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const probe = `
import { createBundler, runningCompiled } from ${JSON.stringify(resolve(import.meta.dir, "../../src/bundle/index.ts"))};
const bundler = createBundler({ dataDir: process.argv[2]! });
const before = process.env.ESBUILD_BINARY_PATH ?? null;
const good = await bundler.tryBundle({ entrypoint: "index.ts", files: {
  "index.ts": 'import { defineBackend } from "cantrip";\\nimport { greet } from "./lib/greet";\\nexport default defineBackend({ hi: greet("x") });\\n',
  "lib/greet.ts": "export const greet = (n: string): string => 'hi ' + n;\\n",
} });
const bad = await bundler.tryBundle({ entrypoint: "index.ts", files: { "index.ts": 'import _ from "lodash";\\nexport default _;\\n' } });
await bundler.close();
console.log(JSON.stringify({ runningCompiled, before, after: process.env.ESBUILD_BINARY_PATH, good, bad }));
`;

test("the compiled executable extracts esbuild into <dataDir>/bin and bundles a two-file project", async () => {
  const entry = join(dir, "probe.ts");
  const exe = join(dir, "out", "probe");
  writeFileSync(entry, probe);
  const compile = Bun.spawnSync([process.execPath, "build", "--compile", "--minify-syntax", "--minify-whitespace", entry, "--outfile", exe], { cwd: dir });
  expect(compile.stderr.toString()).not.toContain("error");
  expect(compile.exitCode).toBe(0);

  const runDir = join(dir, "elsewhere");
  mkdirSync(runDir);
  const dataDir = join(dir, "data");
  const run = Bun.spawnSync([exe, dataDir], { cwd: runDir, env: { PATH: "/usr/bin:/bin", HOME: runDir } });
  expect(run.stderr.toString()).toBe("");
  const out = JSON.parse(run.stdout.toString());
  const binPath = join(dataDir, "bin", "esbuild-0.28.2");
  expect(out.runningCompiled).toBe(true);
  expect(out.before).toBeNull();
  expect(out.after).toBe(binPath);
  expect(statSync(binPath).mode & 0o777).toBe(0o755);
  expect(out.good.ok).toBe(true);
  expect(out.good.code).toContain('from "cantrip"');
  expect(out.good.code).toContain("hi ");
  expect(out.bad.ok).toBe(false);
  expect(out.bad.diagnostics[0]).toMatchObject({ file: "index.ts", line: 1, column: 15 });

  // A second start reuses the extracted binary.
  const mtime = statSync(binPath).mtimeMs;
  const again = Bun.spawnSync([exe, dataDir], { cwd: runDir });
  expect(JSON.parse(again.stdout.toString()).good.ok).toBe(true);
  expect(statSync(binPath).mtimeMs).toBe(mtime);
}, 120_000);
