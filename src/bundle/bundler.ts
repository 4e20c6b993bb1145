/**
 * createBundler: validates a project, runs esbuild over it in memory and returns one ESM
 * guest bundle ("cantrip" external, es2023, neutral platform) with its sha256 and source
 * map. `tryBundle` reports problems the input caused as diagnostics for the repair loop;
 * `bundle` throws them as AppError. Only platform failures (esbuild cannot start) throw
 * from `tryBundle`.
 */
import type { BuildFailure, BuildResult, Message } from "esbuild";
import { AppError } from "../errors";
import { sha256Hex } from "../lib/hash";
import { cleanSourceMap, fromEsbuildAll, summarize } from "./diagnostics";
import { loadedEsbuild, loadEsbuild } from "./load-esbuild";
import { projectPlugin } from "./project-plugin";
import { defaultBundleLimits, type BundleInput, type BundleOutput, type Bundler, type BundlerOptions, type TryBundleResult } from "./types";
import { validateInput } from "./validate-input";

const OUTFILE = "bundle.js";

function isBuildFailure(e: unknown): e is BuildFailure {
  return e instanceof Error && Array.isArray((e as Partial<BuildFailure>).errors);
}

export function createBundler(opts: BundlerOptions): Bundler {
  const limits = { ...defaultBundleLimits, ...opts.limits };

  async function tryBundle(input: BundleInput): Promise<TryBundleResult> {
    const valid = validateInput(input, limits);
    if (!("files" in valid)) return { ok: false, ...valid };

    const esbuild = await loadEsbuild(opts.dataDir);
    let result: BuildResult<{ write: false }>;
    try {
      result = await esbuild.build({
        entryPoints: [valid.entrypoint],
        plugins: [projectPlugin(valid.files)],
        bundle: true,
        write: false,
        outfile: OUTFILE,
        absWorkingDir: "/",
        format: "esm",
        platform: "neutral",
        target: "es2023",
        sourcemap: "external",
        charset: "utf8",
        logLevel: "silent",
        // Pinned so a stray tsconfig.json near the server's cwd cannot change the output.
        tsconfigRaw: { compilerOptions: {} },
      });
    } catch (e) {
      if (!isBuildFailure(e)) throw e;
      const diagnostics = fromEsbuildAll(e.errors, "error", valid.entrypoint);
      return { ok: false, code: "build_failed", message: summarize(diagnostics), diagnostics };
    }

    const warnings = fromEsbuildAll(result.warnings as Message[], "warning", valid.entrypoint);
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
    const map = result.outputFiles.find((f) => f.path.endsWith(".js.map"));
    if (!js) throw new Error("esbuild produced no JavaScript output");
    const code = js.text;
    const sizeBytes = js.contents.byteLength;
    if (sizeBytes > limits.maxBundleBytes) {
      const message = `bundle is too large: ${sizeBytes} bytes (the limit is ${limits.maxBundleBytes}); remove large inlined data or unused code`;
      return { ok: false, code: "payload_too_large", message, diagnostics: [{ file: valid.entrypoint, line: 0, column: 0, message, severity: "error" }] };
    }
    return { ok: true, code, hash: sha256Hex(code), sizeBytes, warnings, sourceMap: map ? cleanSourceMap(map.text) : "" };
  }

  async function bundle(input: BundleInput): Promise<BundleOutput> {
    const r = await tryBundle(input);
    if (r.ok) {
      const { ok: _ok, ...output } = r;
      return output;
    }
    // invalid_request carries per-file issues like every other 400 of the API; build
    // failures and size limits carry the diagnostics the repair loop understands.
    if (r.code === "invalid_request" && r.issues) throw new AppError("invalid_request", r.message, { details: r.issues });
    throw new AppError(r.code, r.message, { details: { diagnostics: r.diagnostics, ...(r.issues ? { issues: r.issues } : {}) } });
  }

  async function close(): Promise<void> {
    await loadedEsbuild()?.stop();
  }

  return { bundle, tryBundle, close };
}
