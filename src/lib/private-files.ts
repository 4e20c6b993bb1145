/**
 * The data dir holds everything a tenant or the operator would not want read by another
 * local user: the database (kv, sources, logs, key hashes, sealed credentials), the admin
 * token, the master key and backups. It is kept 0700 and every file in it 0600 (the
 * extracted esbuild binary stays 0755 so it can run, inside a private folder). Modes
 * looser than that, left by an older cantrip or a copy, are tightened with a warning.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Called once per path whose mode was tightened: (message, { path, from, to }) with octal strings. */
export type ModeWarning = (message: string, fields: { path: string; from: string; to: string }) => void;

const octal = (n: number) => "0" + (n & 0o777).toString(8);

function tighten(path: string, want: number, warn?: ModeWarning): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & ~want & 0o777) === 0) return;
  chmodSync(path, mode & want);
  warn?.(`tightened the mode of ${path}: other users could read it`, { path, from: octal(mode), to: octal(mode & want) });
}

/**
 * Creates `dir` (and missing parents, which keep the umask's mode) as 0700, or tightens an
 * existing one that group or others may enter. Throws the file system's error as is.
 */
export function ensurePrivateDir(dir: string, warn?: ModeWarning): void {
  if (!existsSync(dir)) {
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(dir, { mode: PRIVATE_DIR_MODE, recursive: true });
    chmodSync(dir, PRIVATE_DIR_MODE); // the umask may have narrowed it further; never widened
    return;
  }
  tighten(dir, PRIVATE_DIR_MODE, warn);
}

/**
 * Makes `path` a 0600 file: creates it empty when missing (so a library that creates it
 * later with its own default mode, like SQLite, finds it private already), or tightens it.
 */
export function ensurePrivateFile(path: string, warn?: ModeWarning, opts: { create?: boolean } = {}): void {
  if (!existsSync(path)) {
    if (opts.create === false) return;
    closeSync(openSync(path, "a", PRIVATE_FILE_MODE));
    chmodSync(path, PRIVATE_FILE_MODE);
    return;
  }
  tighten(path, PRIVATE_FILE_MODE, warn);
}
