/**
 * Puts an executable esbuild binary on disk for the compiled cantrip executable. Inside
 * `bun build --compile` output, esbuild's JS API cannot find its native binary in
 * node_modules, so the binary is embedded as a file asset and copied once to
 * `<dataDir>/bin/esbuild-<version>` (mode 0755, in a 0700 folder), checked by sha256 against the embedded
 * bytes on every start and rewritten atomically when it differs.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensurePrivateDir } from "../lib/private-files";

/** True for paths inside the compiled executable's embedded filesystem. */
export function isEmbeddedPath(path: string): boolean {
  return path.startsWith("/$bunfs/") || path.startsWith("B:/~BUN/") || path.startsWith("B:\\~BUN\\");
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface ExtractResult {
  path: string;
  /** False when a matching, executable copy was already there. */
  written: boolean;
}

/**
 * Copies `sourcePath` (an embedded asset or any readable file) to
 * `<dataDir>/bin/esbuild-<version>` unless an identical executable copy is there already.
 */
export async function extractBinary(sourcePath: string, dataDir: string, version: string): Promise<ExtractResult> {
  const bytes = await Bun.file(sourcePath).bytes();
  const want = sha256(bytes);
  // Absolute, because esbuild spawns the binary by this path from its own working directory.
  const dir = resolve(dataDir, "bin");
  const target = join(dir, `esbuild-${version}`);
  // The binary must stay executable (0755); the folder it sits in is private to the operator.
  if (existsSync(dir)) ensurePrivateDir(dir);
  if (existsSync(target)) {
    const okMode = (statSync(target).mode & 0o777) === 0o755;
    if (okMode && sha256(readFileSync(target)) === want) return { path: target, written: false };
  }
  // Write beside the target and rename, so a concurrent start never runs a half-written file.
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    ensurePrivateDir(dir);
    writeFileSync(temp, bytes, { mode: 0o755 });
    chmodSync(temp, 0o755); // the umask may have narrowed the mode given to writeFileSync
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new Error(`cannot extract esbuild to ${target}: ${(e as Error).message}`, { cause: e });
  }
  if (sha256(readFileSync(target)) !== want) throw new Error(`esbuild binary at ${target} does not match the embedded copy after writing`);
  return { path: target, written: true };
}
