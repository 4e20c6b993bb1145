/**
 * Issue 12 §6: every file name that upload accepts downloads in both archive formats.
 * Real server, real HTTP; the .tar.gz is listed with the system's GNU tar and the .zip
 * read back with fflate, and both must hold every source file under its exact name.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { startServer, type TestServer } from "../harness";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

// Names upload accepts (src/bundle/paths.ts): up to 200 characters, any Unicode, "." segments.
const longFlat = `lib/${"x".repeat(190)}.ts`;
const longDeep = `${"dir/".repeat(30)}${"y".repeat(70)}.ts`;
const unicode = `modules/${"é".repeat(60)}/${"ü".repeat(60)}/helpers.ts`;
const dotted = "lib/./sub/../util.ts";

test("a name longer than 100 characters downloads as .zip and .tar.gz with its exact path", async () => {
  const files: Record<string, string> = {
    "index.ts": `import { defineBackend } from "cantrip";\nimport { a } from "./${longFlat.slice(0, -3)}";\nimport { b } from "./${longDeep.slice(0, -3)}";\nimport { c } from "./${unicode.slice(0, -3)}";\nimport { d } from "./lib/util";\nexport default defineBackend({ routes: { "GET /": () => ({ n: a + b + c + d }) } });\n`,
    [longFlat]: "export const a = 1;\n",
    [longDeep]: "export const b = 2;\n",
    [unicode]: "export const c = 3;\n",
    [dotted]: "export const d = 4;\n",
  };
  for (const n of [longFlat, longDeep, unicode]) expect(n.length).toBeGreaterThan(100);
  const name = "A backend with a rather long name so that the slug itself is long as well " + "z".repeat(20);
  const created = await s.json("/v1/agents", { method: "POST", json: { name, files, entrypoint: "index.ts" } });
  expect(created.status).toBe(201);
  const agent = created.body.data.agent;
  const t = await s.json(`/v1/downloads/${agent.id}/token`, { method: "POST" });
  expect(t.status).toBe(200);
  const root = `${agent.slug}-v1`;
  const want = [longFlat, longDeep, unicode, "lib/util.ts", "index.ts"].map((n) => `${root}/src/${n}`);

  const dir = mkdtempSync(join(tmpdir(), "cantrip-dl-"));
  try {
    for (const f of t.body.data.files as { filename: string; url: string }[]) {
      const r = await fetch(f.url);
      expect(r.status).toBe(200);
      const bytes = new Uint8Array(await r.arrayBuffer());
      let names: string[];
      if (f.filename.endsWith(".zip")) names = Object.keys(unzipSync(bytes));
      else {
        const file = join(dir, f.filename);
        writeFileSync(file, bytes);
        const listed = spawnSync("tar", ["-tzf", file], { encoding: "utf8" });
        expect(listed.stderr).toBe("");
        expect(listed.status).toBe(0);
        names = listed.stdout.split("\n").filter(Boolean);
        // Extracting checks the content and that no entry climbs out ("..") of the root.
        const out = join(dir, "x");
        spawnSync("mkdir", ["-p", out]);
        const x = spawnSync("tar", ["-xzf", file, "-C", out, `${root}/src/${longFlat}`, `${root}/src/lib/util.ts`], { encoding: "utf8" });
        expect(x.status).toBe(0);
        expect(await Bun.file(join(out, root, "src", longFlat)).text()).toBe("export const a = 1;\n");
      }
      for (const w of want) expect(names).toContain(w);
      expect(names.some((n) => n.includes("/./") || n.includes("/../"))).toBe(false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
