/**
 * Worker side: creates interpreters, each in its own QuickJS WebAssembly module with its
 * own capped WebAssembly.Memory (QuickJS's own memory limit does not hold under
 * emscripten, and wasm memory never shrinks, so the only way to hand memory back is to
 * drop the whole module). The guest prelude is evaluated up front and a few spares are
 * kept ready so a cold load only evaluates the agent's bundle.
 */
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime } from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-wasmfile-release-sync";
import { PRELUDE_PARTS } from "../../../sandbox/dist/prelude.gen";
import { installHost, type HostState } from "./guest-host";
import { overBudget } from "./slices";
import { whenIdle } from "./idle";

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

let wasmModule: WebAssembly.Module | undefined;

export function setWasmModule(m: WebAssembly.Module): void {
  wasmModule = m;
}

export const hasWasmModule = (): boolean => wasmModule !== undefined;

export function pagesFor(memoryBytes: number): number {
  return Math.ceil(Math.max(memoryBytes, MIN_MEMORY_BYTES) / PAGE);
}

export async function createVm(memoryBytes: number): Promise<Vm> {
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
  for (const [i, part] of PRELUDE_PARTS.entries()) vm.unwrapResult(vm.evalCode(part, `cantrip:prelude-${i}.js`, { type: "global" })).dispose();
  // Instantiate "cantrip" once so it is cached by name, then hide the globals it came from.
  vm.unwrapResult(vm.evalCode(`import "cantrip";`, "cantrip:warm.js", { type: "module" })).dispose();
  rt.executePendingJobs(-1);
  const entry = vm.unwrapResult(vm.evalCode(`const e = globalThis.__cantripEntry; delete globalThis.__cantripEntry; delete globalThis.__cantripSdk; e`, "cantrip:entry.js", { type: "global" }));
  return { memory, maxBytes: maxPages * PAGE, rt, vm, entry, host };
}

/** Pre-created interpreters for the most recently requested memory cap. */
export class SparePool {
  private spares: Vm[] = [];
  private filling = false;
  constructor(private target: number, private memoryBytes: number) {}

  /** Adds an interpreter made ahead of the pool (a prestarted worker's), if it has this pool's cap. */
  add(vm: Vm): void {
    if (vm.maxBytes === pagesFor(this.memoryBytes) * PAGE) this.spares.push(vm);
  }

  async take(memoryBytes: number): Promise<Vm> {
    const want = pagesFor(memoryBytes) * PAGE;
    if (want !== pagesFor(this.memoryBytes) * PAGE) {
      this.memoryBytes = memoryBytes;
      this.spares = [];
    }
    const vm = this.spares.pop() ?? (await createVm(memoryBytes));
    this.refillSoon();
    return vm;
  }

  /**
   * Refill one interpreter at a time, each only while the worker is idle (idle.ts): creating
   * one blocks the thread for ~7 ms. A load that finds no spare creates its own, as before.
   */
  refillSoon(): void {
    if (this.filling || this.spares.length >= this.target) return;
    this.filling = true;
    const step = () =>
      whenIdle(() => {
        createVm(this.memoryBytes).then(
          (vm) => {
            this.spares.push(vm);
            if (this.spares.length < this.target) step();
            else this.filling = false;
          },
          () => {
            this.filling = false;
          },
        );
      });
    step();
  }
}
