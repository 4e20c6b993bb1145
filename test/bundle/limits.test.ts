/**
 * Size limits: file count, total source bytes and bundle bytes, each at and over its
 * limit, as payload_too_large (413).
 */
import { expect, test } from "bun:test";
import { defaultBundleLimits } from "../../src/bundle";
import { AppError } from "../../src/errors";
import { setup } from "./helpers";

const bundler = setup({ maxFiles: 3, maxSourceBytes: 1000, maxBundleBytes: 600 });
const standard = setup();

function files(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}.ts`, `export const v${i} = ${i};\n`]));
}

test("the defaults are 50 files, 1 MiB of source, 2 MiB of bundle", () => {
  expect(defaultBundleLimits).toEqual({ maxFiles: 50, maxSourceBytes: 1024 * 1024, maxBundleBytes: 2 * 1024 * 1024 });
});

test("file count: at the limit builds, one more is payload_too_large (413)", async () => {
  expect((await bundler.tryBundle({ files: files(3), entrypoint: "f0.ts" })).ok).toBe(true);
  const err = await bundler.bundle({ files: files(4), entrypoint: "f0.ts" }).catch((e) => e);
  expect(err).toBeInstanceOf(AppError);
  expect([err.code, err.status]).toEqual(["payload_too_large", 413]);
  expect(err.message).toContain("too many files: 4 (the limit is 3)");
});

test("the default file limit allows 50 files and refuses 51", async () => {
  expect((await standard.tryBundle({ files: files(50), entrypoint: "f0.ts" })).ok).toBe(true);
  const r = await standard.tryBundle({ files: files(51), entrypoint: "f0.ts" });
  expect(r.ok ? "ok" : r.code).toBe("payload_too_large");
});

test("total source size counts UTF-8 bytes over all files", async () => {
  const at = { "a.ts": `export const s = "${"x".repeat(500 - 21)}";\n`, "b.ts": `// ${"y".repeat(500 - 4)}\n` };
  expect(Buffer.byteLength(at["a.ts"]) + Buffer.byteLength(at["b.ts"])).toBe(1000);
  expect((await bundler.tryBundle({ files: at, entrypoint: "a.ts" })).ok).toBe(true);
  // One "é" more is 2 bytes more, though only 1 character.
  const over = { ...at, "b.ts": at["b.ts"].replace("yy", "éy") };
  expect(over["b.ts"].length).toBe(at["b.ts"].length);
  const err = await bundler.bundle({ files: over, entrypoint: "a.ts" }).catch((e) => e);
  expect([err.code, err.status]).toEqual(["payload_too_large", 413]);
  expect(err.message).toContain("1001 bytes");
});

test("bundle size: a bundle over the limit is payload_too_large with a diagnostic", async () => {
  const small = await bundler.bundle({ files: { "a.ts": 'export const s = "short";\n' }, entrypoint: "a.ts" });
  expect(small.sizeBytes).toBeLessThan(600);
  // Two 350-character strings: under the 1000-byte source limit, over the 600-byte bundle limit.
  const big = { "a.ts": `export const s = \`${"z".repeat(350)}\`;\nexport const t = \`${"z".repeat(350)}\`;\n` };
  expect(Buffer.byteLength(big["a.ts"])).toBeLessThan(1000);
  const r = await bundler.tryBundle({ files: big, entrypoint: "a.ts" });
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe("payload_too_large");
  expect(r.diagnostics).toEqual([{ file: "a.ts", line: 0, column: 0, severity: "error", message: expect.stringContaining("(the limit is 600)") }]);
  const err = await bundler.bundle({ files: big, entrypoint: "a.ts" }).catch((e) => e);
  expect([err.code, err.status]).toEqual(["payload_too_large", 413]);
  expect(err.details.diagnostics).toHaveLength(1);
});
