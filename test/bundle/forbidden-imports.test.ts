/**
 * Imports the sandbox cannot satisfy (npm packages, Node built-ins, absolute paths, paths
 * out of the project, missing files) fail the build with a located, explanatory diagnostic.
 */
import { expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { buildErrors, setup } from "./helpers";

const bundler = setup();
const sdk = 'import { defineBackend } from "cantrip";\n';

async function onlyError(files: Record<string, string>, entrypoint = "index.ts") {
  const ds = await buildErrors(bundler, { files, entrypoint });
  expect(ds).toHaveLength(1);
  return ds[0]!;
}

test("a bare npm import is an error naming the package, the importing file, line and column", async () => {
  const d = await onlyError({ "index.ts": sdk + 'import _ from "lodash";\nexport default defineBackend({ f: _.identity });\n' });
  expect(d).toMatchObject({ file: "index.ts", line: 2, column: 15, severity: "error", lineText: 'import _ from "lodash";' });
  expect(d.message).toContain('Cannot import "lodash"');
  expect(d.message).toContain('npm package "lodash" is not available');
});

test("scoped package subpaths name the package", async () => {
  const d = await onlyError({ "index.ts": sdk + 'import { z } from "@acme/pkg/sub";\nexport default defineBackend({ z });\n' });
  expect(d.message).toContain('npm package "@acme/pkg"');
});

test("node: built-ins are refused", async () => {
  const d = await onlyError({ "index.ts": sdk + 'import { readFileSync } from "node:fs";\nexport default defineBackend({ r: readFileSync });\n' });
  expect(d).toMatchObject({ file: "index.ts", line: 2, column: 30 });
  expect(d.message).toContain('Cannot import "node:fs": Node.js built-in modules are not available');
});

test("bare Node built-in names (fs, path, child_process via require) are refused, in a non-entry file", async () => {
  const ds = await buildErrors(bundler, {
    files: {
      "index.ts": sdk + 'import { run } from "./lib/run";\nexport default defineBackend({ run });\n',
      "lib/run.ts": 'import fs from "fs";\nimport { join } from "path";\nconst cp = require("child_process");\nexport const run = () => [fs, join, cp];\n',
    },
    entrypoint: "index.ts",
  });
  expect(ds.map((d) => [d.file, d.line, d.column])).toEqual([
    ["lib/run.ts", 1, 16],
    ["lib/run.ts", 2, 22],
    ["lib/run.ts", 3, 20],
  ]);
  expect(ds.map((d) => d.message.slice(0, d.message.indexOf(":")))).toEqual(['Cannot import "fs"', 'Cannot import "path"', 'Cannot import "child_process"']);
  for (const d of ds) expect(d.message).toContain("Node.js built-in modules are not available in the sandbox");
});

test("a dynamic import of a package is refused too", async () => {
  const d = await onlyError({ "index.ts": sdk + 'export default defineBackend({ f: () => import("axios") });\n' });
  expect(d).toMatchObject({ line: 2, column: 48 });
  expect(d.message).toContain('"axios"');
});

test("imports that leave the project root are refused, even when the target would exist on disk", async () => {
  const d = await onlyError({ "src/index.ts": sdk + 'import x from "../../../../etc/passwd";\nexport default defineBackend({ x });\n' }, "src/index.ts");
  expect(d).toMatchObject({ file: "src/index.ts", line: 2 });
  expect(d.message).toContain("leaves the project root");
});

test("absolute imports and cantrip subpaths are refused", async () => {
  const ds = await buildErrors(bundler, {
    files: { "index.ts": sdk + 'import a from "/etc/hosts";\nimport b from "cantrip/internal";\nexport default defineBackend({ a, b });\n' },
    entrypoint: "index.ts",
  });
  expect(ds.map((d) => d.line)).toEqual([2, 3]);
  expect(ds[0]!.message).toContain("absolute paths are not allowed");
  expect(ds[1]!.message).toContain("no subpath modules");
});

test("a relative import of a file not in the map lists what was tried and what exists", async () => {
  const d = await onlyError({ "index.ts": sdk + 'import { h } from "./helpers";\nexport default defineBackend({ h });\n', "helper.ts": "export const h = 1;\n" });
  expect(d).toMatchObject({ file: "index.ts", line: 2, column: 19 });
  expect(d.message).toContain('Cannot find "./helpers"');
  expect(d.message).toContain("helpers.ts");
  expect(d.message).toContain("Project files: index.ts, helper.ts");
});

test("bundle() throws build_failed (400) with the diagnostics in details", async () => {
  const err = await bundler.bundle({ files: { "index.ts": sdk + 'import _ from "lodash";\nexport default defineBackend(_);\n' }, entrypoint: "index.ts" }).catch((e) => e);
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("build_failed");
  expect(err.status).toBe(400);
  expect(err.message).toStartWith('index.ts:2:15: Cannot import "lodash"');
  expect(err.details.diagnostics[0]).toMatchObject({ file: "index.ts", line: 2, column: 15 });
});
