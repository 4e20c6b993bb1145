/**
 * The bundle capability: TypeScript/JavaScript project files in, one ESM guest bundle
 * out, built by esbuild entirely in memory. The SDK ("cantrip") stays an external import
 * for the sandbox to provide; npm packages, Node built-ins and files outside the project
 * are build errors with precise locations. This file is the only way in.
 */
export { createBundler } from "./bundler";
export { formatDiagnostic, formatDiagnostics } from "./diagnostics";
export { runningCompiled } from "./load-esbuild";
export { SDK_MODULE } from "./specifiers";
export { defaultBundleLimits } from "./types";
export type { BundleInput, BundleLimits, BundleOutput, Bundler, BundlerOptions, Diagnostic, TryBundleResult } from "./types";
