/**
 * Project-path rules shared by input validation and import resolution. Project paths are
 * posix, relative to a virtual root, with no "." or ".." left in them; anything that
 * would climb above the root is refused here rather than clamped, so "../../etc/passwd"
 * can never quietly become "etc/passwd".
 */

/** Source extensions a project file may have, and how esbuild loads each. */
export const sourceLoaders = { ".ts": "ts", ".js": "js", ".mjs": "js", ".json": "json" } as const;
export type SourceExtension = keyof typeof sourceLoaders;

export const MAX_NAME_LENGTH = 200;

export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot <= 0 ? "" : base.slice(dot);
}

export function isSourceExtension(ext: string): ext is SourceExtension {
  return Object.hasOwn(sourceLoaders, ext);
}

/**
 * Joins segments onto a base directory ("" is the root) and normalizes them.
 * Returns null when a ".." segment would leave the root.
 */
export function joinWithinRoot(baseDir: string, relative: string): string | null {
  const out = baseDir === "" ? [] : baseDir.split("/");
  for (const seg of relative.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return out.join("/");
}

export function dirnameOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** Why a file name is not acceptable, or null when it is. Checked before normalizing. */
export function nameProblem(name: string): { rule: string; message: string } | null {
  if (name.length === 0) return { rule: "empty", message: "file name must not be empty" };
  if (name.length > MAX_NAME_LENGTH) return { rule: "too_long", message: `file name is longer than ${MAX_NAME_LENGTH} characters` };
  if (name.includes("\0")) return { rule: "nul", message: "file name must not contain a NUL character" };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { rule: "control_character", message: "file name must not contain control characters" };
  if (name.includes("\\")) return { rule: "backslash", message: 'file name must use "/" as separator, not "\\"' };
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return { rule: "absolute", message: 'file name must be relative to the project root (e.g. "src/index.ts")' };
  const normalized = joinWithinRoot("", name);
  if (normalized === null) return { rule: "outside_root", message: 'file name must not climb above the project root with ".."' };
  if (normalized === "" || name.endsWith("/")) return { rule: "not_a_file", message: "file name must name a file, not a directory" };
  const ext = extensionOf(normalized);
  if (!isSourceExtension(ext)) {
    return { rule: "extension", message: `file extension ${ext === "" ? "(none)" : `"${ext}"`} is not allowed; use .ts, .js, .mjs or .json` };
  }
  return null;
}

/**
 * The project paths an import of `target` (already joined and normalized) may mean, in
 * the order they are tried: the exact file, the file with an extension added, the
 * TypeScript file behind a ".js" specifier, then an index file in that directory.
 */
export function candidatesFor(target: string, wantsDirectory: boolean): string[] {
  const out: string[] = [];
  if (!wantsDirectory && target !== "") {
    if (isSourceExtension(extensionOf(target))) out.push(target);
    for (const ext of Object.keys(sourceLoaders)) out.push(target + ext);
    if (target.endsWith(".js")) out.push(target.slice(0, -3) + ".ts");
  }
  const prefix = target === "" ? "" : target + "/";
  for (const ext of [".ts", ".js", ".mjs", ".json"]) out.push(`${prefix}index${ext}`);
  return out;
}
