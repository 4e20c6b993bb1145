/**
 * Builds dist/cantrip: one executable with the server, the sandbox worker, the embedded
 * migrations, QuickJS's .wasm, esbuild's binary and the dashboard/docs assets.
 * `--bytecode` stores JavaScriptCore bytecode beside the source, so a start skips parsing
 * ~1,250 modules: process start → first 2xx 215 → 141 ms (medians of 7, same run, load 0.6),
 * for 9 MB more executable. Bytecode needs `--format=esm` for our top-level await.
 * `--splitting` puts what is only ever imported dynamically (the control plane's routes, the
 * PostgreSQL driver, the model client, …) in chunks of its own: without it the bundle hoists
 * their top-level imports, and a start paid for them anyway (e.g. drizzle's bun-sql driver
 * reads `Bun.SQL`, which loads bun:sql: ~3 ms). Main-thread CPU at a restart's first 2xx:
 * 35.7–45.6 ms against 43.1–59.5 without (6 alternating runs each, load ~6).
 */
import { $ } from "bun";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const entries = ["src/main.ts", "src/runtime/worker.ts"].filter((e) => existsSync(join(root, e)));
mkdirSync(join(root, "dist"), { recursive: true });
const out = join(root, "dist", "cantrip");
await $`bun build --compile --bytecode --format=esm --splitting --minify-syntax --minify-whitespace --sourcemap=none ${entries} --outfile ${out}`.cwd(root);
console.log(`built ${out}`);
