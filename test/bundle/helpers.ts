/**
 * Shared set-up for the bundle tests: one real bundler (real esbuild) per test file over a
 * throwaway data dir, a helper that expects a build to fail and returns its diagnostics,
 * and a way to run a bundle in Bun with a tiny stand-in for the "cantrip" SDK.
 */
import { afterAll, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBundler, type BundleInput, type BundleLimits, type Diagnostic } from "../../src/bundle";

export function setup(limits?: Partial<BundleLimits>) {
  const dataDir = mkdtempSync(join(tmpdir(), "cantrip-bundle-"));
  const bundler = createBundler({ dataDir, limits });
  afterAll(async () => {
    await bundler.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return bundler;
}

export async function buildErrors(bundler: ReturnType<typeof setup>, input: BundleInput): Promise<Diagnostic[]> {
  const r = await bundler.tryBundle(input);
  if (r.ok) throw new Error(`expected the build to fail, got:\n${r.code}`);
  expect(r.code).toBe("build_failed");
  return r.diagnostics;
}

/** Imports the bundle as a module, with "cantrip" replaced by a stub whose defineBackend is the identity. */
export async function runBundle(code: string): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-run-"));
  try {
    const sdk = join(dir, "sdk.mjs");
    writeFileSync(sdk, "export const defineBackend = (b) => b; export const sdkName = 'stub';\n");
    const entry = join(dir, "bundle.mjs");
    writeFileSync(entry, code.replace(/from\s*"cantrip"/g, `from ${JSON.stringify(sdk)}`));
    return (await import(entry)) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
