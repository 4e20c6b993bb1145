/**
 * File-name and entrypoint rules: unsafe or non-source names are refused as
 * invalid_request with one issue per file; harmless spellings are normalized.
 */
import { expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { setup } from "./helpers";

const bundler = setup();
const ok = 'export default 1;\n';

async function refused(files: Record<string, string>, entrypoint = "index.ts") {
  const err = await bundler.bundle({ files: { "index.ts": ok, ...files }, entrypoint }).catch((e) => e);
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("invalid_request");
  expect(err.status).toBe(400);
  return err as AppError & { details: { field: string; rule: string; message: string }[] };
}

test.each([
  ["../escape.ts", "outside_root"],
  ["src/../../escape.ts", "outside_root"],
  ["/etc/passwd.ts", "absolute"],
  ["C:/win.ts", "absolute"],
  ["src\\win.ts", "backslash"],
  ["nul\0.ts", "nul"],
  ["", "empty"],
  ["a".repeat(198) + ".ts", "too_long"],
  ["readme.md", "extension"],
  ["component.tsx", "extension"],
  ["Makefile", "extension"],
  ["src/", "not_a_file"],
  ["./", "not_a_file"],
])("file name %p is refused with rule %p", async (name, rule) => {
  const err = await refused({ [name]: ok });
  expect(err.details).toEqual([{ field: `files[${JSON.stringify(name)}]`, rule, message: expect.any(String) }]);
});

test("every bad name is reported at once, and tryBundle returns the same issues as diagnostics", async () => {
  const files = { "index.ts": ok, "../a.ts": ok, "b\\c.ts": ok, "d.txt": ok };
  const err = await refused(files);
  expect(err.details.map((i) => i.rule)).toEqual(["outside_root", "backslash", "extension"]);
  const r = await bundler.tryBundle({ files, entrypoint: "index.ts" });
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe("invalid_request");
  expect(r.diagnostics.map((d) => [d.file, d.line, d.severity])).toEqual([
    ["../a.ts", 0, "error"],
    ["b\\c.ts", 0, "error"],
    ["d.txt", 0, "error"],
  ]);
});

test("a name of exactly 200 characters is accepted; ./ and a/../ are normalized", async () => {
  const long = "a".repeat(197) + ".ts";
  expect(long).toHaveLength(200);
  const out = await bundler.bundle({
    files: { "./index.ts": `import { v } from "./${long}";\nimport { w } from "./lib/w";\nexport default v + w;\n`, [long]: "export const v = 1;\n", "lib/x/../w.ts": "export const w = 2;\n" },
    entrypoint: "index.ts",
  });
  expect(out.code).toContain("var v = 1");
  expect(out.code).toContain("var w = 2");
});

test("two names for the same file are refused as duplicates", async () => {
  const err = await refused({ "./index.ts": "export default 2;\n" });
  expect(err.details[0]).toMatchObject({ field: 'files["./index.ts"]', rule: "duplicate" });
});

test("non-string content is refused", async () => {
  const err = await refused({ "b.ts": 42 as unknown as string });
  expect(err.details[0]).toMatchObject({ field: 'files["b.ts"]', rule: "type" });
});

test("the entrypoint must be one of the files, and a module", async () => {
  const missing = await refused({}, "main.ts");
  expect(missing.details).toEqual([{ field: "entrypoint", rule: "missing", message: expect.stringContaining('"main.ts" is not one of the files (index.ts)') }]);
  const json = await refused({ "d.json": "{}" }, "d.json");
  expect(json.details[0]).toMatchObject({ field: "entrypoint", rule: "extension" });
  const escaping = await refused({}, "../index.ts");
  expect(escaping.details[0]).toMatchObject({ field: "entrypoint", rule: "missing" });
});
