/**
 * Bundles the guest prelude (sandbox/prelude.ts: Web shims + SDK) and writes it as string
 * constants to sandbox/dist/prelude.gen.ts, so the host imports it without running esbuild
 * at start-up (and the compiled executable carries it). Run: `bun sandbox/build-prelude.ts`.
 * A test fails when the generated file is stale.
 *
 * The prelude comes in parts evaluated one after another (PRELUDE_PARTS; PRELUDE is the
 * same parts joined, for engines that take one script): a getter for the Web Streams source
 * text (kept by the host), the bundled libraries (core-js-pure's URL), then the shims and SDK. Compiling a script in
 * QuickJS needs several times its size in transient memory, and a WebAssembly memory never
 * gives pages back, so compiling the parts separately keeps every interpreter smaller
 * (measured: ~0.5 MB less per interpreter than one script of the same code).
 */
import * as esbuild from "esbuild";
import { join } from "node:path";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import { PRELUDE_COMPILE, compileScript, quickjsBuildId } from "../src/runtime/quickjs/bytecode";
import { variant, wasmPath } from "../src/runtime/quickjs/wasm-build";

const common = { bundle: true, format: "iife", platform: "neutral", target: "es2023", write: false, legalComments: "none" } as const;

/**
 * The Web Streams implementation (web-streams-polyfill's ponyfill) as source text: the
 * prelude keeps it as a string and evaluates it on first use of ReadableStream & co, so a
 * spare interpreter does not pay to compile what most backends never touch.
 */
async function streamsSource(): Promise<string> {
  const out = await esbuild.build({
    ...common,
    stdin: { contents: `export { ReadableStream, WritableStream, TransformStream, ByteLengthQueuingStrategy, CountQueuingStrategy } from "web-streams-polyfill";`, resolveDir: import.meta.dir, loader: "ts" },
    globalName: "__streams",
    minify: true,
  });
  return `(() => { ${out.outputFiles[0]!.text}; return __streams; })()`;
}

/**
 * The bundled libraries (core-js-pure's URL and URLSearchParams) as source text of an
 * expression whose value is `{ URL, URLSearchParams }`. QuickJS evaluates it as its own
 * prelude part and parks the classes on a hidden global for the main part to take; V8 gets
 * the text on demand and evaluates it on first use of URL (a bare isolate pays ~0.5 MB for it).
 */
async function libsSource(): Promise<string> {
  const out = await esbuild.build({
    ...common,
    stdin: {
      contents: `import URL from "core-js-pure/actual/url/index.js";
import URLSearchParams from "core-js-pure/actual/url-search-params/index.js";
export { URL, URLSearchParams };`,
      resolveDir: import.meta.dir,
      loader: "js",
    },
    globalName: "__libs",
    minify: true,
  });
  return `(() => { ${out.outputFiles[0]!.text}; return __libs; })()`;
}

/** The shims and SDK; "cantrip:libs-source" and "cantrip:streams-source" read (and remove) what the earlier parts left. */
async function mainPart(): Promise<string> {
  const out = await esbuild.build({
    ...common,
    plugins: [
      {
        name: "prelude-parts",
        setup(b) {
          b.onResolve({ filter: /^cantrip:(libs-source|streams-source)$/ }, (a) => ({ path: a.path.slice(8), namespace: "cantrip" }));
          b.onLoad({ filter: /^libs-source$/, namespace: "cantrip" }, () => ({
            contents: `const s = globalThis.__cantripLibsSource; delete globalThis.__cantripLibsSource; export default s;`,
            loader: "js",
          }));
          b.onLoad({ filter: /^streams-source$/, namespace: "cantrip" }, () => ({
            contents: `const s = globalThis.__cantripStreamsSource; delete globalThis.__cantripStreamsSource; export default s;`,
            loader: "js",
          }));
        },
      },
    ],
    entryPoints: [join(import.meta.dir, "prelude.ts")],
    minifySyntax: true,
    minifyWhitespace: true,
    minifyIdentifiers: true,
  });
  return out.outputFiles[0]!.text;
}

/**
 * The prelude's scripts compiled to bytecode by the sandbox's QuickJS build (bytecode.ts), one
 * after another in `bytes`: [offset, length] of each part, for both sets of parts.
 */
async function preludeBytecode(parts: string[], lazyParts: string[]): Promise<{ bytes: Uint8Array; parts: [number, number][]; lazyUrlParts: [number, number][] }> {
  const wasmModule = new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer());
  const vm = (await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule }))).newContext();
  const chunks: Uint8Array[] = [];
  const seen = new Map<string, [number, number]>();
  let at = 0;
  const place = (code: string, i: number): [number, number] => {
    const known = seen.get(code);
    if (known) return known;
    const bc = compileScript(vm, code, `cantrip:prelude-${i}.js`, PRELUDE_COMPILE);
    const span: [number, number] = [at, bc.length];
    chunks.push(bc);
    at += bc.length;
    seen.set(code, span);
    return span;
  };
  const spans = parts.map(place);
  const lazySpans = lazyParts.map(place);
  vm.dispose();
  const bytes = new Uint8Array(at);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  return { bytes, parts: spans, lazyUrlParts: lazySpans };
}

export const preludeBytecodePath = join(import.meta.dir, "dist", "prelude.qjsbc");

/** The generated module's text and the prelude's bytecode (sandbox/dist/prelude.qjsbc). */
export async function buildPrelude(): Promise<{ module: string; bytecode: Uint8Array }> {
  const sources = { streams: await streamsSource(), libs: await libsSource() };
  const main = await mainPart();
  // The URL library is evaluated as its own part (QuickJS: compiling it apart keeps interpreters
  // smaller, measured ~0.3 MB against an eval inside the main part); V8 gets its text on demand.
  const libs = `Object.defineProperty(globalThis, "__cantripLibsSource", { value: ${sources.libs}, configurable: true });`;
  // The streams text stays with the host (QuickJS's guest-host.ts `source`), fetched on first
  // use as on V8: parked as a string it was ~62 KB of every interpreter's heap (issue 15,
  // memory per loaded backend). The host object is captured now; the main part hides it.
  const streams = `(() => { const h = globalThis.__cantripHost; Object.defineProperty(globalThis, "__cantripStreamsSource", { value: () => h.source("streams"), configurable: true }); })();`;
  const parts = [streams, libs, main];
  // The same part for an interpreter that loads the URL library on first use, as V8 does
  // (url.ts): the first interpreter of a process, made while its first call waits (issue 15,
  // cold start: core-js is ~45% of making an interpreter; vm-factory.ts `lazyUrl`).
  // The host runs the eager part's bytecode then (its classes parked on the same global), or
  // hands over the text when it has no bytecode for its build.
  const lazyLibs = `(() => { const h = globalThis.__cantripHost; Object.defineProperty(globalThis, "__cantripLibsSource", { value: () => { const s = h.source("libs"); if (s !== undefined) return s; const v = globalThis.__cantripLibsSource; delete globalThis.__cantripLibsSource; return v; }, configurable: true }); Object.defineProperty(globalThis, "__cantripLazyLibs", { value: true, configurable: true }); })();`;
  const bc = await preludeBytecode(parts, parts.map((p, i) => (i === 1 ? lazyLibs : p)));
  const build = quickjsBuildId(await Bun.file(join(import.meta.dir, "quickjs", "dist", "BUILD-INFO")).text());
  if (!build) throw new Error("sandbox/quickjs/dist/BUILD-INFO names no emscripten-module.wasm");
  const module = `// GENERATED by sandbox/build-prelude.ts from sandbox/prelude.ts — do not edit.
/** The prelude's scripts, to evaluate in order in one global scope (QuickJS: one by one). */
export const PRELUDE_PARTS: readonly string[] = ${JSON.stringify(parts)};
/** The same scripts as one. */
export const PRELUDE = PRELUDE_PARTS.join("\\n;\\n");
/**
 * The source texts the main part evaluates on first use, which the host hands over on demand
 * (\`__cantripStreamsSource\` / \`__cantripLibsSource\` as functions that fetch the text: V8's
 * sidecar, QuickJS's \`__cantripHost.source\`), so an interpreter holds one only once it needs it.
 */
export const PRELUDE_SOURCES: { readonly streams: string; readonly libs: string } = ${JSON.stringify(sources)};
/** The last part alone: the shims and SDK. */
export const PRELUDE_MAIN: string = PRELUDE_PARTS[${parts.length - 1}]!;
/** PRELUDE_PARTS with the URL library parked for evaluation on first use instead of evaluated (QuickJS, vm-factory.ts \`lazyUrl\`). */
export const PRELUDE_PARTS_LAZY_URL: readonly string[] = PRELUDE_PARTS.map((p, i) => (i === 1 ? ${JSON.stringify(lazyLibs)} : p));
/**
 * PRELUDE_PARTS and PRELUDE_PARTS_LAZY_URL compiled by the QuickJS build \`build\` (the sha256 of
 * its .wasm): [offset, length] of each part's bytecode in sandbox/dist/prelude.qjsbc.
 */
export const PRELUDE_BYTECODE: { readonly build: string; readonly parts: readonly (readonly [number, number])[]; readonly lazyUrlParts: readonly (readonly [number, number])[] } = ${JSON.stringify({ build, parts: bc.parts, lazyUrlParts: bc.lazyUrlParts })};
`;
  return { module, bytecode: bc.bytes };
}

export const preludeGenPath = join(import.meta.dir, "dist", "prelude.gen.ts");

if (import.meta.main) {
  const out = await buildPrelude();
  await Bun.write(preludeGenPath, out.module);
  await Bun.write(preludeBytecodePath, out.bytecode);
  console.log(`wrote ${preludeGenPath} and ${preludeBytecodePath}`);
}
