/**
 * JavaScriptCore options the server process needs before its first WebAssembly.Memory, set
 * the only way JSC takes them: from `BUN_JSC_*` environment variables read at process
 * start (they are process-wide and frozen once the VM exists). `serve` re-executes itself in
 * place (`process.execve`: same pid, same file descriptors) when one is missing; `npm start`
 * and `npm test` set it already (scripts/bun.mjs), so only a directly started executable or
 * `bun src/main.ts serve` pays the second start (measured in README, "Performance").
 *
 * `maxNumWasmFastMemories`: JSC gives a WebAssembly.Memory a "fast memory" (a 4 GiB + guard
 * virtual reservation whose guard pages replace bounds checks in the compiled code) only
 * while fewer than this many exist in the process; the default is 8. From half of that on,
 * every new Memory asks for a full garbage collection, and once all are taken every new
 * Memory runs a synchronous full collection of the creating thread's heap first and then
 * gets a bounds-checked memory (WebKit, Source/JavaScriptCore/runtime/BufferMemoryHandle.cpp:
 * `BufferMemoryManager::tryAllocateFastMemory`, `tryAllocate`). Every QuickJS interpreter
 * has a Memory of its own (vm-factory.ts), so with the default a sandbox worker paid a full
 * collection (2–9 ms, growing with its instances) for each interpreter it made after the
 * eighth, and those interpreters ran guest code ~25% slower (issue 15). Each fast memory is
 * address space only (PROT_NONE, no commit charge): 1,024 of them reserve ~4 TiB of the
 * 128 TiB a 64-bit Linux process has. Where the reservation fails (a `ulimit -v`, a small
 * address space) JSC falls back to a bounds-checked memory, as it does today past eight.
 */

/** The options and the values `serve` runs with (a value already in the environment is kept). */
export const SERVER_JSC_OPTIONS: Readonly<Record<string, string>> = { BUN_JSC_maxNumWasmFastMemories: "1024" };

/** The options of SERVER_JSC_OPTIONS that `env` lacks, as environment entries; empty when none is missing. */
export function missingJscOptions(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(SERVER_JSC_OPTIONS)) if (env[k] === undefined) out[k] = v;
  return out;
}

/**
 * The argument vector that starts this same program again: the executable, Bun's own flags
 * (`execArgv`), the script (when run from source; a compiled executable's `argv[1]` is its
 * embedded path, which the executable supplies itself) and the program's arguments.
 */
export function restartArgv(p: { execPath: string; execArgv: string[]; argv: string[] }, compiled: boolean): string[] {
  return compiled ? [p.execPath, ...p.argv.slice(2)] : [p.execPath, ...p.execArgv, ...p.argv.slice(1)];
}

/**
 * Re-executes the process in place with SERVER_JSC_OPTIONS when some are missing (does not
 * return then). Returns normally when none is missing, or when `process.execve` is not
 * available or fails (Windows; a platform without it): the server then runs with JSC's
 * defaults, slower but correct.
 */
export function ensureServerJscOptions(compiled: boolean): void {
  const missing = missingJscOptions(process.env);
  if (Object.keys(missing).length === 0 || typeof process.execve !== "function") return;
  try {
    process.execve(process.execPath, restartArgv(process, compiled), { ...process.env, ...missing } as Record<string, string>);
  } catch {
    // Not replaced: go on with the defaults.
  }
}
