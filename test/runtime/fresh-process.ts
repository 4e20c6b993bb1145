/** A test helper: run a script in a fresh `bun` process (empty module cache, threads of its own). */
import { expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `source` (a TypeScript module) in a fresh `bun` process, for what must start from an
 * empty module cache or a thread of its own; returns its stdout. Fails the test (with the
 * child's stderr) when it does not exit 0.
 */
export async function runInFreshProcess(name: string, source: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-fresh-"));
  const file = join(dir, `${name}.ts`);
  await Bun.write(file, source);
  const p = Bun.spawn(["bun", file], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = [await new Response(p.stdout).text(), await new Response(p.stderr).text()];
  rmSync(dir, { recursive: true, force: true });
  expect(await p.exited, stderr).toBe(0);
  return stdout;
}
