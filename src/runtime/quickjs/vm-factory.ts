/**
 * Worker side: creates interpreters, each in its own QuickJS WebAssembly module with its
 * own capped WebAssembly.Memory (QuickJS's own memory limit does not hold under
 * emscripten, and wasm memory never shrinks, so the only way to hand memory back is to
 * drop the whole module). The guest prelude is evaluated up front and a few spares are
 * kept ready so a cold load only evaluates the agent's bundle.
 */
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime } from "quickjs-emscripten-core";
import { variant } from "./wasm-build";
import { PRELUDE_BYTECODE, PRELUDE_PARTS, PRELUDE_PARTS_LAZY_URL } from "../../../sandbox/dist/prelude.gen";
import bytecodePath from "../../../sandbox/dist/prelude.qjsbc" with { type: "file" };
import buildInfo from "../../../sandbox/quickjs/dist/BUILD-INFO" with { type: "text" };
import { PRELUDE_COMPILE, compileScript, quickjsBuildId, runBytecode } from "./bytecode";
import { installHost, type HostState } from "./guest-host";
import { overBudget } from "./slices";
import { idle, whenIdle, workerIdle } from "./idle";

const PAGE = 65536;
/** The QuickJS build declares 16 MiB of initial memory; a smaller cap cannot be honoured. */
export const MIN_MEMORY_BYTES = 256 * PAGE;
const STACK_BYTES = 320 * 1024;

const CANTRIP_MODULE = `const s = globalThis.__cantripSdk;
export const defineBackend = s.defineBackend, t = s.t, Type = s.t, HttpError = s.HttpError, route = s.route;
export default s;`;

export interface Vm {
  memory: WebAssembly.Memory;
  maxBytes: number;
  rt: QuickJSRuntime;
  vm: QuickJSContext;
  entry: QuickJSHandle;
  host: HostState;
}

let compiled: WebAssembly.Module | undefined;

export function setWasmModule(m: WebAssembly.Module): void {
  compiled = m;
}

/** Whether this thread has compiled its QuickJS module (worker.ts; never one from another worker: spawn-worker.ts). */
export const hasWasmModule = (): boolean => compiled !== undefined;

let preludeBytes: Promise<Uint8Array | null> | undefined;

/**
 * The prelude's bytecode (sandbox/dist/prelude.qjsbc), read once per thread; null when it was
 * compiled by another QuickJS build than the one running, or could not be read (then the
 * source is evaluated; a failed read, say EMFILE under load, is tried again next time rather
 * than kept: a kept rejection would fail every interpreter this thread makes).
 */
function preludeBytecode(): Promise<Uint8Array | null> {
  if (preludeBytes) return preludeBytes;
  if (quickjsBuildId(buildInfo) !== PRELUDE_BYTECODE.build) return (preludeBytes = Promise.resolve(null));
  return (preludeBytes = Bun.file(bytecodePath)
    .bytes()
    .catch(() => {
      preludeBytes = undefined;
      return null;
    }));
}

export function pagesFor(memoryBytes: number): number {
  return Math.ceil(Math.max(memoryBytes, MIN_MEMORY_BYTES) / PAGE);
}

/**
 * A new interpreter with the prelude evaluated, capped at `memoryBytes`. `pause`, if given, is
 * awaited before each step (every prelude part, the SDK module): a spare refill passes one
 * that waits while calls run on the worker, so a call that arrives mid-refill waits for one
 * step at most, not for the whole interpreter. `lazyUrl`: the URL library (core-js, ~45% of
 * the work) is run on the guest's first use of URL/URLSearchParams instead, as on V8 — for the
 * first interpreter of a process, which its first call waits for (worker.ts prestart). That
 * use runs the library's part from bytecode (HostState.libs: ~2 ms warm; evaluating its text
 * took 5–30 ms and left the interpreter ~350 KB larger). Not for spares: a lazy interpreter is
 * ~130 KB smaller until its guest touches URL, and ~135 KB larger than an eager one after
 * (measured, issue 15), so backends that use URL would pay for the others' saving.
 */
export async function createVm(memoryBytes: number, pause?: () => Promise<void>, lazyUrl = false): Promise<Vm> {
  const wasmModule = compiled;
  if (!wasmModule) throw new Error("QuickJS wasm module not loaded");
  const maxPages = pagesFor(memoryBytes);
  const memory = new WebAssembly.Memory({ initial: 256, maximum: maxPages });
  const qjs = await newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, wasmMemory: memory }));
  const rt = qjs.newRuntime();
  rt.setMaxStackSize(STACK_BYTES);
  rt.setInterruptHandler(overBudget);
  rt.setModuleLoader((name) => (name === "cantrip" ? CANTRIP_MODULE : { error: new Error(`Cannot import "${name}": only "cantrip" is available in the sandbox`) }));
  const vm = rt.newContext();
  const host = installHost(vm);
  // In parts: compiling one big script would grow every interpreter's memory for good (build-prelude.ts).
  // From bytecode when it matches this build: ~7× faster than parsing the source (bytecode.ts).
  const bytecode = await preludeBytecode();
  host.libs = () => runLibs(vm, bytecode);
  const spans = lazyUrl ? PRELUDE_BYTECODE.lazyUrlParts : PRELUDE_BYTECODE.parts;
  for (const [i, part] of (lazyUrl ? PRELUDE_PARTS_LAZY_URL : PRELUDE_PARTS).entries()) {
    if (pause) await pause();
    const span = spans[i];
    const name = `cantrip:prelude-${i}.js`;
    if (bytecode && span && runBytecode(vm, bytecode.subarray(span[0], span[0] + span[1]))) continue;
    // No bytecode for this build: compile the part here as build-prelude.ts does (without source
    // text), so the interpreter is the same as one made from the file.
    if (!bytecode && runBytecode(vm, compileScript(vm, part, name, PRELUDE_COMPILE))) continue;
    // It threw: the source says why (a throw here is a broken prelude either way).
    vm.unwrapResult(vm.evalCode(part, name, { type: "global" })).dispose();
  }
  if (pause) await pause();
  // Instantiate "cantrip" once so it is cached by name, then hide the globals it came from.
  vm.unwrapResult(vm.evalCode(`import "cantrip";`, "cantrip:warm.js", { type: "module" })).dispose();
  rt.executePendingJobs(-1);
  const entry = vm.unwrapResult(vm.evalCode(`const e = globalThis.__cantripEntry; delete globalThis.__cantripEntry; delete globalThis.__cantripSdk; e`, "cantrip:entry.js", { type: "global" }));
  return { memory, maxBytes: maxPages * PAGE, rt, vm, entry, host };
}

/** The prelude part that evaluates the URL library (build-prelude.ts: parts[1]), whose lazy form parks a loader instead. */
const LIBS_PART = 1;

/**
 * Runs the URL library's eager prelude part in `vm` (a guest's first use of URL, inside its
 * call and CPU budget): from the committed bytecode, or compiled here without source text when
 * there is none for this build. False when it threw (the guest then evaluates the text).
 */
function runLibs(vm: QuickJSContext, bytecode: Uint8Array | null): boolean {
  const span = PRELUDE_BYTECODE.parts[LIBS_PART];
  if (bytecode && span) return runBytecode(vm, bytecode.subarray(span[0], span[0] + span[1]));
  try {
    return runBytecode(vm, compileScript(vm, PRELUDE_PARTS[LIBS_PART]!, `cantrip:prelude-${LIBS_PART}.js`, PRELUDE_COMPILE));
  } catch {
    return false;
  }
}

/** Between two steps of a refill: a call that arrived meanwhile runs first (and the refill waits until the worker is idle again). */
async function yieldToCalls(): Promise<void> {
  await new Promise<void>((r) => setTimeout(r, 0));
  if (!workerIdle()) await idle();
}

/** Pre-created interpreters for the most recently requested memory cap. */
export class SparePool {
  private spares: Vm[] = [];
  private filling = false;
  /** The interpreter a refill is making now, its memory cap, and what makes it finish without pausing (a load waits for it). */
  private making: { vm: Promise<Vm>; cap: number; hurry: () => void } | null = null;
  /**
   * `pause`: what a refill awaits between its steps (createVm); by default it lets waiting
   * messages in, then waits only if a call is in flight (or expected) on this worker (idle.ts).
   */
  constructor(private target: number, private memoryBytes: number, private pause: () => Promise<void> = yieldToCalls) {}

  /** Spare interpreters ready now. */
  get size(): number {
    return this.spares.length;
  }

  /** Adds an interpreter made ahead of the pool (a prestarted worker's), if it has this pool's cap. */
  add(vm: Vm): void {
    if (vm.maxBytes === pagesFor(this.memoryBytes) * PAGE) this.spares.push(vm);
  }

  /**
   * A spare for a load with cap `memoryBytes`: a ready one; else the one a refill is making
   * for the same cap, finished without its pauses (its remaining steps cost less than a
   * whole interpreter, which a load that made its own paid on top of the refill's: 3–9 ms on
   * a deploy's load check, issue 15); else a new one made here.
   */
  async take(memoryBytes: number): Promise<Vm> {
    const want = pagesFor(memoryBytes) * PAGE;
    if (want !== pagesFor(this.memoryBytes) * PAGE) {
      this.memoryBytes = memoryBytes;
      this.spares = [];
    }
    let vm = this.spares.pop();
    if (!vm && this.making && this.making.cap === this.memoryBytes) {
      this.making.hurry();
      await this.making.vm.catch(() => {});
      vm = this.spares.pop();
    }
    vm ??= await createVm(memoryBytes);
    this.refillSoon();
    return vm;
  }

  /**
   * Refill one interpreter at a time, only while the worker is idle (idle.ts; after a load,
   * once the call that usually follows it has come and gone): creating one blocks the thread
   * for ~7 ms (warm), so it pauses between its steps while calls run. A load that finds no
   * spare creates its own.
   */
  refillSoon(): void {
    if (this.filling || this.spares.length >= this.target) return;
    this.filling = true;
    const step = () =>
      whenIdle(() => {
        const cap = this.memoryBytes;
        // Hurried, a pause in progress ends at once (it may be waiting for the very load that waits for this interpreter) and no other starts.
        let hurried = false;
        let wake!: () => void;
        const woken = new Promise<void>((r) => (wake = r));
        const vm = createVm(cap, () => (hurried ? Promise.resolve() : Promise.race([this.pause(), woken])));
        this.making = { vm, cap, hurry: () => ((hurried = true), wake()) };
        vm.then(
          (vm) => {
            this.making = null;
            // A take() for another cap meanwhile emptied the pool: this one is not wanted.
            if (cap === this.memoryBytes) this.spares.push(vm);
            if (this.spares.length < this.target) step();
            else this.filling = false;
          },
          () => {
            this.making = null;
            this.filling = false;
          },
        );
      });
    step();
  }
}
