/**
 * The operator paths inside `bun build --compile` output, run from an empty directory with
 * no node_modules near it: the .tar.gz writer (modern-tar, PAX long names) and the online
 * snapshot (VACUUM INTO in an inline Worker) both work in the executable as from source.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";

const dir = mkdtempSync(join(tmpdir(), "cantrip-ops-compiled-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const src = (p: string) => JSON.stringify(resolve(import.meta.dir, "../../src", p));
const probe = `
import { tarGzArtifact } from ${src("generate/artifact.ts")};
import { snapshotDatabase } from ${src("ops/snapshot.ts")};
import { Database } from "bun:sqlite";
const [, , outDir] = process.argv;
const long = "lib/" + "x".repeat(190) + ".ts";
await Bun.write(outDir + "/a.tar.gz", await tarGzArtifact({ [long]: "export const a = 1;\\n" }, "slug-v1"));
const db = new Database(outDir + "/live.db");
db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (42);");
const snap = await snapshotDatabase(outDir + "/live.db", outDir + "/snap.db");
console.log(JSON.stringify({ long, bytes: snap.bytes }));
`;

test("tar.gz with a long name and an online snapshot work in a compiled executable", async () => {
  const entry = join(dir, "probe.ts");
  await Bun.write(entry, probe);
  const exe = join(dir, "out", "probe");
  const compile = Bun.spawnSync([process.execPath, "build", "--compile", entry, "--outfile", exe], { cwd: dir });
  expect(compile.exitCode).toBe(0);
  const runDir = join(dir, "elsewhere");
  mkdirSync(runDir);
  const run = Bun.spawnSync([exe, runDir], { cwd: runDir, env: { PATH: "/usr/bin:/bin", HOME: runDir } });
  expect(run.stderr.toString()).toBe("");
  const out = JSON.parse(run.stdout.toString());
  const listed = spawnSync("tar", ["-tzf", join(runDir, "a.tar.gz")], { encoding: "utf8" });
  expect(listed.stdout.trim()).toBe(`slug-v1/${out.long}`);
  expect(statSync(join(runDir, "snap.db")).mode & 0o777).toBe(0o600);
  const snap = new Database(join(runDir, "snap.db"), { readonly: true });
  expect(snap.query("SELECT x FROM t").get()).toEqual({ x: 42 });
  snap.close();
}, 120_000);
