/**
 * Loads esbuild's JS API once per process, after pointing it at a usable binary. esbuild
 * reads ESBUILD_BINARY_PATH when its module is first evaluated (a top-level `var` in
 * lib/main.js), not when the service starts, so the module is imported dynamically, only
 * after the variable is set. From source the binary in node_modules is used unchanged.
 * Nothing else in cantrip may import "esbuild" as a value, or the compiled executable
 * would evaluate it before the path is known.
 */
import esbuildBinary from "@esbuild/linux-x64/bin/esbuild" with { type: "file" };
import binaryPkg from "@esbuild/linux-x64/package.json" with { type: "json" };
import { extractBinary, isEmbeddedPath } from "./binary";

export type Esbuild = typeof import("esbuild");

let loading: Promise<Esbuild> | undefined;
let loaded: Esbuild | undefined;

/** True when running from the compiled executable (the embedded binary is not on disk). */
export const runningCompiled: boolean = isEmbeddedPath(esbuildBinary);

async function load(dataDir: string): Promise<Esbuild> {
  if (runningCompiled) {
    const { path } = await extractBinary(esbuildBinary, dataDir, binaryPkg.version);
    process.env.ESBUILD_BINARY_PATH = path;
  }
  const mod = (await import("esbuild")) as Esbuild & { default?: Esbuild };
  const api = typeof mod.build === "function" ? mod : mod.default!;
  if (api.version !== binaryPkg.version) {
    throw new Error(`esbuild JS API ${api.version} does not match the embedded binary ${binaryPkg.version}`);
  }
  return api;
}

/** The first caller's dataDir decides where the binary goes; later callers share it. */
export function loadEsbuild(dataDir: string): Promise<Esbuild> {
  loading ??= load(dataDir).then(
    (api) => (loaded = api),
    (e) => {
      loading = undefined; // let a later build retry (e.g. after the data dir was fixed)
      throw e;
    },
  );
  return loading;
}

/** The loaded API, if any build has loaded it; used to stop the service. */
export function loadedEsbuild(): Esbuild | undefined {
  return loaded;
}
