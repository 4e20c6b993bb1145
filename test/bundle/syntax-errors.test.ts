/**
 * Syntax and link errors come back with the right file, line and character column, in the
 * form the repair prompt uses.
 */
import { expect, test } from "bun:test";
import { formatDiagnostics } from "../../src/bundle";
import { buildErrors, setup } from "./helpers";

const bundler = setup();

test("a syntax error in an imported file reports that file, its line and its 1-based column", async () => {
  const ds = await buildErrors(bundler, {
    files: {
      "index.ts": 'import { defineBackend } from "cantrip";\nimport { f } from "./lib/f";\nexport default defineBackend({ f });\n',
      "lib/f.ts": "export function f(a: number) {\n  return a +;\n}\n",
    },
    entrypoint: "index.ts",
  });
  expect(ds).toEqual([{ file: "lib/f.ts", line: 2, column: 13, message: 'Unexpected ";"', severity: "error", lineText: "  return a +;" }]);
});

test("columns count characters, not UTF-8 bytes", async () => {
  const ds = await buildErrors(bundler, { files: { "index.ts": 'const grüße = "héllo"; let x = ;\n' }, entrypoint: "index.ts" });
  // esbuild reports byte column 34; the ";" is the 32nd character.
  expect(ds[0]).toMatchObject({ line: 1, column: 32 });
});

test("an unterminated string and a missing brace are located precisely", async () => {
  const a = await buildErrors(bundler, { files: { "a.ts": 'export const s = "open;\n' }, entrypoint: "a.ts" });
  expect(a[0]).toMatchObject({ file: "a.ts", line: 1, column: 24, message: "Unterminated string literal" });
  const b = await buildErrors(bundler, { files: { "a.ts": "export function f() {\n  if (true) {\n    return 1;\n}\n" }, entrypoint: "a.ts" });
  expect(b[0]).toMatchObject({ file: "a.ts", line: 5, column: 1 });
  expect(b[0]!.message).toBe("Unexpected end of file");
});

test("an import of a name the module does not export is an error in the importer", async () => {
  const ds = await buildErrors(bundler, {
    files: { "index.ts": 'import { nope } from "./m.js";\nexport default nope;\n', "m.js": "export const yes = 1;\n" },
    entrypoint: "index.ts",
  });
  expect(ds[0]).toMatchObject({ file: "index.ts", line: 1, column: 10 });
  expect(ds[0]!.message).toBe('No matching export in "m.js" for import "nope"');
});

test("invalid JSON is reported in the JSON file", async () => {
  const ds = await buildErrors(bundler, {
    files: { "index.ts": 'import d from "./d.json";\nexport default d;\n', "d.json": '{ "a": 1,, }' },
    entrypoint: "index.ts",
  });
  expect(ds[0]).toMatchObject({ file: "d.json", line: 1 });
});

test("formatDiagnostics renders file:line:col, the source line and a caret under the column", async () => {
  const ds = await buildErrors(bundler, { files: { "x.ts": "let a = 1;\nlet b = ;\n" }, entrypoint: "x.ts" });
  expect(formatDiagnostics(ds)).toBe('x.ts:2:9: error: Unexpected ";"\n    2 | let b = ;\n      |         ^');
});
