/**
 * Builds dist/cantrip: one executable with the server, the sandbox worker, the embedded
 * migrations, QuickJS's .wasm, esbuild's binary and the dashboard/docs assets.
 */
import { $ } from "bun";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const entries = ["src/main.ts", "src/runtime/worker.ts"].filter((e) => existsSync(join(root, e)));
mkdirSync(join(root, "dist"), { recursive: true });
const out = join(root, "dist", "cantrip");
await $`bun build --compile --minify-syntax --minify-whitespace --sourcemap=none ${entries} --outfile ${out}`.cwd(root);
console.log(`built ${out}`);
