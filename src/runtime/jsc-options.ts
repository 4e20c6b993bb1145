/**
 * JavaScriptCore options the server process needs before its first WebAssembly.Memory, set
 * the only way JSC takes them: from `BUN_JSC_*` environment variables read at process
 * start (they are process-wide and frozen once the VM exists). `serve` re-executes itself in
 * place (`process.execve`: same pid, same standard streams; Bun, like Node, closes every other
 * inherited descriptor) when one is missing; `npm start` and `npm test` set it already
 * (scripts/bun.mjs), so only a directly started executable or `bun src/main.ts serve` pays the
 * second start (measured in README, "Performance"). "Missing" means missing from the
 * environment the process started with, which is all JSC reads: `process.env` also holds the
 * values of `.env` files, which Bun loads after JSC has started. Where a restart would drop
 * something the process holds (a debugger's session, an IPC channel to its parent) or fails,
 * the server keeps running with JSC's defaults and says so on stderr.
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
 *
 * `useWarmUpMarkedBlocks = 0`: JSC keeps a supply of 32 garbage-collected heap blocks (16 KB
 * each) whose pages a helper thread, `JSCWarmUp`, has already written once, so that a heap
 * ramping up takes its page faults there rather than on the thread that allocates (WebKit,
 * Source/JavaScriptCore/heap/FastMallocAlignedMemoryAllocator.cpp, `WarmUpBlockProvider`).
 * A server under steady load is not ramping up: every block the supply hands out is replaced
 * by a fresh allocation whose pages are faulted in again, while without the supply a new block
 * reuses one the collector has just freed, already resident. Under `bench/invoke.ts` the
 * helper took 11–12.5 µs of CPU per call and the allocator's `mi-scavenger` another 4–8 µs
 * (against ~2 µs without it), on 2 cores the server shares with its load: server CPU per
 * invoke 1.02–1.28x and throughput 0.79–0.98x of the same code without the supply, per round
 * (issue 15; README, "Performance"). The cost is at start, when the heap does ramp up: the
 * main thread's CPU to the first answer after a start rose ~15–20 ms (process start → first
 * 2xx 1.01–1.06x).
 */
import { readFileSync, realpathSync } from "node:fs";

/** The options and the values `serve` runs with (a value already in the environment is kept). */
export const SERVER_JSC_OPTIONS: Readonly<Record<string, string>> = { BUN_JSC_maxNumWasmFastMemories: "1024", BUN_JSC_useWarmUpMarkedBlocks: "0" };

/**
 * The options of SERVER_JSC_OPTIONS that the start environment `start` lacks, as environment
 * entries; empty when none is missing. Each takes the value `env` has (the operator's, from a
 * `.env` file: JSC never saw it) or else ours; an empty one, which JSC would refuse to start
 * with, is taken as none.
 */
export function missingJscOptions(start: Record<string, string | undefined>, env: Record<string, string | undefined> = start): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(SERVER_JSC_OPTIONS)) if (start[k] === undefined) out[k] = env[k] || v;
  return out;
}

/**
 * The environment a process image started with (this one's by default), which is what JSC read
 * its options from (Linux: /proc/PID/environ, "NAME=value" entries separated by NUL);
 * undefined where it cannot be read (no /proc), and the caller then goes by `process.env`.
 */
export function startEnvironment(pid: number | "self" = "self"): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return undefined;
  }
  const env: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const i = entry.indexOf("=");
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/**
 * What a restart would take from the process, in words; undefined when nothing. A debugger
 * (`--inspect`, `--inspect-wait`, `--inspect-brk`, or Bun's BUN_INSPECT variables) would lose
 * its session, and one waiting to be attached would have to attach twice; a parent's IPC
 * channel (`fork()`, pm2's fork mode: `process.send` exists, and Bun has taken NODE_CHANNEL_FD
 * out of `process.env`) is a descriptor that execve closes.
 */
export function restartWouldDrop(p: { execArgv: string[]; send?: unknown }, env: Record<string, string | undefined>): string | undefined {
  if (p.execArgv.some((a) => /^--inspect(-brk|-wait)?(=|$)/.test(a)) || env.BUN_INSPECT || env.BUN_INSPECT_CONNECT_TO) return "the debugger's session";
  if (typeof p.send === "function" || env.NODE_CHANNEL_FD !== undefined) return "the IPC channel to the parent process";
  return undefined;
}

/**
 * The argument vector that starts this same program again: the executable, Bun's own flags
 * (`execArgv`), the script (when run from source; a compiled executable's `argv[1]` is its
 * embedded path, which the executable supplies itself) and the program's arguments. Bun's
 * `--cwd <dir>` has been applied already (the process is in `cwd` now, and Bun resolves the
 * other flags' paths from there), so it is given as that absolute directory: a relative one
 * would be taken again from inside itself.
 */
export function restartArgv(p: { execPath: string; execArgv: string[]; argv: string[]; argv0?: string }, compiled: boolean, cwd: string = process.cwd()): string[] {
  const first = p.argv0 || p.execPath; // as started (`ps` shows it); Bun finds itself through /proc/self/exe
  if (compiled) return [first, ...p.argv.slice(2)];
  const flags = p.execArgv.map((a, i) => (a.startsWith("--cwd=") ? `--cwd=${cwd}` : p.execArgv[i - 1] === "--cwd" ? cwd : a));
  return [first, ...flags, ...p.argv.slice(1)];
}

/**
 * The file to restart: the path the program was started by (`argv0`: a path, or a name found
 * on `PATH`) when it is the same file as `execPath`, else `execPath`. The kernel names a
 * process (`comm`: what pidof, pkill -x, killall and top match) after the last part of the
 * path it was executed by, and `execPath` is the resolved file — bun.exe behind npm's `bun`
 * link, the versioned file behind a /usr/local/bin/cantrip link — so a restart by it would
 * rename the process.
 */
export function restartFile(argv0: string, execPath: string, PATH: string | undefined): string {
  try {
    const found = argv0.includes("/") ? argv0 : Bun.which(argv0, { PATH: PATH ?? "" });
    if (found && realpathSync(found) === realpathSync(execPath)) return found;
  } catch {
    // (argv0 names nothing that exists now)
  }
  return execPath;
}

/**
 * Re-executes the process in place with SERVER_JSC_OPTIONS when some are missing from its
 * start environment (does not return then). Returns normally when none is missing, or when
 * `process.execve` is not available (Windows), or would drop something (restartWouldDrop),
 * or fails (E2BIG: an environment at the kernel's size limit; a vanished executable): the
 * server then runs with JSC's defaults, slower but correct, and the last two say so on stderr.
 */
export function ensureServerJscOptions(compiled: boolean): void {
  const start = startEnvironment() ?? process.env;
  const missing = missingJscOptions(start, process.env);
  if (Object.keys(missing).length === 0 || typeof process.execve !== "function") return;
  const set = Object.entries(missing).map(([k, v]) => `${k}=${v}`).join(" ");
  const notice = (why: string) => process.stderr.write(`cantrip: running with JavaScriptCore's defaults, not ${set}: ${why}; set it in the environment to have it\n`);
  const dropped = restartWouldDrop(process, process.env);
  if (dropped) return void notice(`restarting with it would drop ${dropped}`);
  try {
    const file = restartFile(process.argv0, process.execPath, start.PATH);
    process.execve(file, restartArgv(process, compiled), { ...process.env, ...missing } as Record<string, string>);
  } catch (e) {
    notice(`could not restart with it (${(e as Error).message})`);
  }
}
