/**
 * Bundles the dashboard (src/dashboard/ui: TypeScript, CSS, index.html) with esbuild into
 * src/dashboard/dist/, which is committed so the server and the compiled executable embed
 * it without a build step. `bun scripts/build-dashboard.ts` writes the files; `--check`
 * exits 1 when the committed files differ from a fresh build (a test runs the same check).
 */
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
export const UI_DIR = join(root, "src/dashboard/ui");
export const DIST_DIR = join(root, "src/dashboard/dist");

async function bundle(entry: string, loader: "ts" | "css"): Promise<string> {
  const r = await esbuild.build({
    entryPoints: [join(UI_DIR, entry)],
    bundle: true,
    minify: true,
    write: false,
    format: loader === "ts" ? "iife" : undefined,
    target: loader === "ts" ? "es2020" : "chrome100",
    legalComments: "none",
    charset: "utf8",
    logLevel: "silent",
  });
  return r.outputFiles[0]!.text;
}

const short = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

/** The dashboard's files, as they should be in dist/. */
export async function buildDashboard(): Promise<Record<string, string>> {
  const js = await bundle("main.ts", "ts");
  const css = await bundle("styles.css", "css");
  const html = readFileSync(join(UI_DIR, "index.html"), "utf8").replace("__JS_HASH__", short(js)).replace("__CSS_HASH__", short(css));
  return { "index.html": html, "app.js": js, "app.css": css };
}

/** Names of the committed files that differ from a fresh build. */
export async function staleFiles(): Promise<string[]> {
  const fresh = await buildDashboard();
  return Object.entries(fresh)
    .filter(([name, text]) => {
      const file = join(DIST_DIR, name);
      return !existsSync(file) || readFileSync(file, "utf8") !== text;
    })
    .map(([name]) => name);
}

if (import.meta.main) {
  if (process.argv.includes("--check")) {
    const stale = await staleFiles();
    if (stale.length) {
      console.error(`src/dashboard/dist is out of date (${stale.join(", ")}); run: bun scripts/build-dashboard.ts`);
      process.exit(1);
    }
    console.log("src/dashboard/dist is up to date");
  } else {
    mkdirSync(DIST_DIR, { recursive: true });
    for (const [name, text] of Object.entries(await buildDashboard())) {
      writeFileSync(join(DIST_DIR, name), text);
      console.log(`wrote src/dashboard/dist/${name} (${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB)`);
    }
  }
}
