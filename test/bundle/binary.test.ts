/**
 * Extraction of the embedded esbuild binary into the data dir: location, mode, sha256
 * check, reuse and repair of the extracted copy.
 */
import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runningCompiled } from "../../src/bundle";
import { extractBinary, isEmbeddedPath } from "../../src/bundle/binary";

const dir = mkdtempSync(join(tmpdir(), "cantrip-bin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source = join(dir, "embedded-esbuild");
writeFileSync(source, "#!/bin/sh\necho fake esbuild\n");
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

test("from source, the node_modules esbuild is used and ESBUILD_BINARY_PATH is left alone", () => {
  expect(runningCompiled).toBe(false);
  expect(process.env.ESBUILD_BINARY_PATH).toBeUndefined();
});

test("embedded paths are recognised", () => {
  expect(isEmbeddedPath("/$bunfs/root/esbuild-a1b2")).toBe(true);
  expect(isEmbeddedPath("B:/~BUN/root/esbuild.exe")).toBe(true);
  expect(isEmbeddedPath("/work/node_modules/@esbuild/linux-x64/bin/esbuild")).toBe(false);
});

test("extracts to <dataDir>/bin/esbuild-<version>, mode 0755, same bytes, nothing left behind", async () => {
  const dataDir = join(dir, "data1");
  const r = await extractBinary(source, dataDir, "0.28.2");
  expect(r).toEqual({ path: join(dataDir, "bin", "esbuild-0.28.2"), written: true });
  expect(statSync(r.path).mode & 0o777).toBe(0o755);
  expect(sha(r.path)).toBe(sha(source));
  expect(readdirSync(join(dataDir, "bin"))).toEqual(["esbuild-0.28.2"]);
  expect(Bun.spawnSync([r.path]).stdout.toString()).toBe("fake esbuild\n");
});

test("a matching copy is kept; a relative data dir is made absolute", async () => {
  const dataDir = join(dir, "data2");
  await extractBinary(source, dataDir, "1.0.0");
  const before = statSync(join(dataDir, "bin", "esbuild-1.0.0")).mtimeMs;
  await Bun.sleep(5);
  const again = await extractBinary(source, join(dataDir, "x", ".."), "1.0.0");
  expect(again.written).toBe(false);
  expect(statSync(again.path).mtimeMs).toBe(before);
  const rel = await extractBinary(source, "relative-data-dir-probe", "1.0.0").finally(() => rmSync("relative-data-dir-probe", { recursive: true, force: true }));
  expect(rel.path).toBe(join(process.cwd(), "relative-data-dir-probe", "bin", "esbuild-1.0.0"));
});

test("a tampered copy or a lost executable bit is rewritten", async () => {
  const dataDir = join(dir, "data3");
  const { path } = await extractBinary(source, dataDir, "1.0.0");
  appendFileSync(path, "tampered");
  expect((await extractBinary(source, dataDir, "1.0.0")).written).toBe(true);
  expect(sha(path)).toBe(sha(source));
  chmodSync(path, 0o644);
  expect((await extractBinary(source, dataDir, "1.0.0")).written).toBe(true);
  expect(statSync(path).mode & 0o777).toBe(0o755);
});

test("an unwritable data dir is a clear error", async () => {
  const blocker = join(dir, "file-not-dir");
  writeFileSync(blocker, "");
  await expect(extractBinary(source, blocker, "1.0.0")).rejects.toThrow(/file-not-dir/);
});
