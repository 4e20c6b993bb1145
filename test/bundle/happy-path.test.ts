/**
 * Bundling that works: a multi-file project with every kind of relative import, JSON and
 * .mjs, "cantrip" kept external, and the bundle actually run against a stub SDK.
 */
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { GenerationBundler } from "../../src/generate/ports";
import { runBundle, setup } from "./helpers";

const bundler = setup();
// Compile-time contract: the pipeline's port accepts this bundler as it is.
const _port: GenerationBundler = bundler;
void _port;

const project = {
  "src/index.ts": [
    'import { defineBackend, sdkName } from "cantrip";',
    'import { add } from "./math";',
    'import { twice } from "./math.ts";',
    'import { shout } from "../lib/text.js";',
    'import { VERSION } from "./config";',
    'import data from "./data.json";',
    'import { tag } from "./plain.mjs";',
    "export default defineBackend({ sum: add(2, 3), dbl: twice(4), msg: shout(\"hi\"), v: VERSION, items: data.items, tag, sdk: sdkName });",
  ].join("\n"),
  "src/math.ts": "export const add = (a: number, b: number): number => a + b;\nexport function twice(n: number): number { return n * 2; }\n",
  "lib/text.ts": "export const shout = (s: string): string => s.toUpperCase() + \"!\";\n",
  "src/config/index.ts": "interface Cfg { v: string }\nconst cfg: Cfg = { v: \"1.2\" };\nexport const VERSION = cfg.v;\n",
  "src/data.json": '{ "items": [1, 2, 3] }',
  "src/plain.mjs": "export const tag = 'mjs';\n",
};

test("multi-file project: relative imports, index files, .js→.ts, json and .mjs all resolve; cantrip stays external", async () => {
  const out = await bundler.bundle({ files: project, entrypoint: "src/index.ts" });
  expect(out.code).toMatch(/import\s*\{[^}]*defineBackend[^}]*\}\s*from\s*"cantrip"/);
  expect(out.code).not.toContain("interface Cfg"); // TypeScript was stripped
  expect(out.code).not.toMatch(/from\s*"\.\.?\//); // no relative imports left: one file
  expect(out.hash).toBe(createHash("sha256").update(out.code).digest("hex"));
  expect(out.sizeBytes).toBe(Buffer.byteLength(out.code));
  expect(out.warnings).toEqual([]);

  const mod = await runBundle(out.code);
  expect(mod.default).toEqual({ sum: 5, dbl: 8, msg: "HI!", v: "1.2", items: [1, 2, 3], tag: "mjs", sdk: "stub" });
});

test("the source map points back at project paths without esbuild's namespace", async () => {
  const out = await bundler.bundle({ files: project, entrypoint: "src/index.ts" });
  const map = JSON.parse(out.sourceMap) as { version: number; sources: string[] };
  expect(map.version).toBe(3);
  expect(map.sources.sort()).toEqual(["lib/text.ts", "src/config/index.ts", "src/data.json", "src/index.ts", "src/math.ts", "src/plain.mjs"]);
  expect(out.code).not.toContain("sourceMappingURL");
});

test("same input, same bundle and hash; a one-character change changes the hash", async () => {
  const a = await bundler.bundle({ files: project, entrypoint: "src/index.ts" });
  const b = await bundler.bundle({ files: project, entrypoint: "src/index.ts" });
  const c = await bundler.bundle({ files: { ...project, "lib/text.ts": project["lib/text.ts"].replace("!", "?") }, entrypoint: "src/index.ts" });
  expect(b.hash).toBe(a.hash);
  expect(c.hash).not.toBe(a.hash);
});

test("output is ESM for es2023: modern syntax is kept, not down-levelled", async () => {
  const out = await bundler.bundle({
    files: { "index.ts": 'import { defineBackend } from "cantrip";\nconst x = [3, 1, 2].toSorted().at(-1) ?? 0;\nclass A { #p = 1; get p() { return this.#p; } }\nexport default defineBackend({ x, p: new A().p });\n' },
    entrypoint: "index.ts",
  });
  expect(out.code).toContain("#p");
  expect(out.code).toContain("??");
  expect(out.code).toMatch(/export\s*\{\s*\w+ as default\s*\}/);
  expect((await runBundle(out.code)).default).toEqual({ x: 3, p: 1 });
});

test("type-only imports of project files vanish from the bundle", async () => {
  const out = await bundler.bundle({
    files: {
      "index.ts": 'import type { Shape } from "./types";\nimport { defineBackend } from "cantrip";\nconst s: Shape = { n: 1 };\nexport default defineBackend(s);\n',
      "types.ts": "export interface Shape { n: number }\n",
    },
    entrypoint: "index.ts",
  });
  expect(out.code).not.toContain("types.ts");
  expect((await runBundle(out.code)).default).toEqual({ n: 1 });
});

test("esbuild warnings come back as warning diagnostics with a location", async () => {
  const out = await bundler.bundle({
    files: { "index.ts": 'import { defineBackend } from "cantrip";\nconst o = { a: 1, a: 2 };\nexport default defineBackend(o);\n' },
    entrypoint: "index.ts",
  });
  expect(out.warnings).toHaveLength(1);
  expect(out.warnings[0]).toMatchObject({ file: "index.ts", line: 2, column: 19, severity: "warning" });
  expect(out.warnings[0]!.message).toContain('Duplicate key "a"');
});
