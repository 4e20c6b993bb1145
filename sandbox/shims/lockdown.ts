/**
 * Removes what a backend has no use for and an engine has been hurt by: shared and
 * resizable buffers. A growable SharedArrayBuffer gave a view over QuickJS's own heap
 * (issue 13 §8), so SharedArrayBuffer and Atomics go, `new ArrayBuffer(n, { maxByteLength })`
 * is refused and ArrayBuffer.prototype.resize is gone — on every engine, so code behaves
 * the same on QuickJS and V8. WebAssembly (V8 only) goes too: a shared WebAssembly.Memory
 * is another way to a SharedArrayBuffer. Runs first in the prelude, before any guest code.
 */
const g = globalThis as any;
for (const name of ["SharedArrayBuffer", "Atomics", "WebAssembly"]) delete g[name];

const Native: ArrayBufferConstructor = g.ArrayBuffer;
const proto = Native.prototype as any;
delete proto.resize;

/** ArrayBuffer without the resizable form; same prototype, so instanceof and host buffers agree. */
function SandboxArrayBuffer(this: unknown, length?: number, options?: unknown): ArrayBuffer {
  if (!new.target) throw new TypeError("Constructor ArrayBuffer requires 'new'");
  if (options !== undefined && options !== null && typeof options === "object" && (options as { maxByteLength?: unknown }).maxByteLength !== undefined) {
    throw new TypeError("Resizable ArrayBuffers are not available in the sandbox");
  }
  return Reflect.construct(Native, [length], new.target) as ArrayBuffer;
}
const AB = SandboxArrayBuffer as unknown as ArrayBufferConstructor;
Object.defineProperty(AB, "name", { value: "ArrayBuffer", configurable: true });
Object.defineProperty(AB, "prototype", { value: proto, writable: false, enumerable: false, configurable: false });
Object.defineProperty(AB, "isView", { value: Native.isView, writable: true, configurable: true, enumerable: false });
Object.defineProperty(AB, Symbol.species, { get() { return this; }, configurable: true });
Object.defineProperty(proto, "constructor", { value: AB, writable: true, configurable: true, enumerable: false });
Object.defineProperty(g, "ArrayBuffer", { value: AB, writable: true, configurable: true, enumerable: false });
