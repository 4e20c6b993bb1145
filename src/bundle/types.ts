/**
 * The bundler's contract: what goes in (a map of project files and an entrypoint), what
 * comes out (one ESM bundle with "cantrip" left external, its hash and size), the limits
 * and their defaults, and the structured diagnostics that the generation pipeline hands
 * back to the model when code does not build.
 */
import type { ErrorCode, FieldIssue } from "../errors";

/**
 * One build problem. `file` is a project path as given in the files map ("src/index.ts");
 * `line` is 1-based and `column` is 1-based in characters (UTF-16 units). Problems that do
 * not belong to a place in a file (limits, names) use line 0 and column 0.
 */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
  severity: "error" | "warning";
  /** The source line the problem points into, when there is one. */
  lineText?: string;
}

export interface BundleInput {
  /** Project path (posix, relative: "index.ts", "lib/util.ts") → source text. */
  files: Record<string, string>;
  /** A key of `files`: the module whose exports become the bundle's exports. */
  entrypoint: string;
}

export interface BundleOutput {
  /** The ESM bundle; `import ... from "cantrip"` is kept as an import. */
  code: string;
  /** sha256 hex of `code`. */
  hash: string;
  /** UTF-8 size of `code` in bytes. */
  sizeBytes: number;
  warnings: Diagnostic[];
  /** Source map (JSON, version 3) of `code` back to the project paths; never written to disk. */
  sourceMap: string;
}

export interface BundleLimits {
  /** Most files in one project (default 50). */
  maxFiles: number;
  /** Most UTF-8 bytes of source over all files (default 1 MiB). */
  maxSourceBytes: number;
  /** Most UTF-8 bytes of the bundle (default 2 MiB). */
  maxBundleBytes: number;
}

export const defaultBundleLimits: BundleLimits = {
  maxFiles: 50,
  maxSourceBytes: 1024 * 1024,
  maxBundleBytes: 2 * 1024 * 1024,
};

/** Which catalogue code a failed build maps to when thrown. */
export type BundleFailureCode = Extract<ErrorCode, "build_failed" | "invalid_request" | "payload_too_large">;

export type TryBundleResult =
  | ({ ok: true } & BundleOutput)
  | {
      ok: false;
      code: BundleFailureCode;
      message: string;
      diagnostics: Diagnostic[];
      /** Per-field issues when the request itself was refused (names, counts, sizes, entrypoint). */
      issues?: FieldIssue[];
    };

export interface Bundler {
  /** Bundle or throw AppError (build_failed / invalid_request / payload_too_large) with `details`. */
  bundle(input: BundleInput): Promise<BundleOutput>;
  /** Bundle without throwing for anything the input caused; throws only on platform failure. */
  tryBundle(input: BundleInput): Promise<TryBundleResult>;
  /** Stop esbuild's service process (it restarts on the next build). */
  close(): Promise<void>;
}

export interface BundlerOptions {
  /** Where the compiled executable extracts esbuild's binary (`<dataDir>/bin`). */
  dataDir: string;
  limits?: Partial<BundleLimits>;
}
