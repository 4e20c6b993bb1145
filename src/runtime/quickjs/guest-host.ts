/**
 * Worker side: the `__cantripHost` functions the prelude captures. They are installed
 * when an interpreter is created (before its agent is known), so each forwards to a
 * mutable HostState that the instance fills in at load time.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { captureJson, getStringExact, newStringExact } from "./exact-strings";
import { TextDecoders } from "../web-bridge";

export interface HostResult {
  json: string;
  bytes?: Uint8Array;
}

export interface HostState {
  log(level: string, message: string): void;
  call(op: string, args: string, bytes: Uint8Array | undefined): Promise<HostResult>;
  /** The call whose slice is running (host work started now is attributed to it). */
  current(): unknown;
  /** Apply a settled host result to the guest inside a slice of `token`'s call, then pump jobs. */
  settle(token: unknown, apply: () => void): void;
}

const unset = (): never => {
  throw new Error("sandbox host not attached");
};

export function installHost(vm: QuickJSContext): HostState {
  const state: HostState = { log: unset, call: unset, current: () => null, settle: unset };
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  captureJson(vm);
  const str = (h: QuickJSHandle) => getStringExact(vm, h);
  const host = vm.newObject();
  const fn = (name: string, f: (...a: QuickJSHandle[]) => QuickJSHandle | undefined) => {
    const h = vm.newFunction(name, f);
    vm.setProp(host, name, h);
    h.dispose();
  };
  fn("log", (level, msg) => {
    state.log(str(level), str(msg));
    return undefined;
  });
  fn("random", (n) => {
    const len = Math.min(65536, Math.max(0, vm.getNumber(n) | 0));
    return vm.newArrayBuffer(crypto.getRandomValues(new Uint8Array(len)).buffer);
  });
  fn("encode", (s) => vm.newArrayBuffer(enc.encode(str(s)).buffer as ArrayBuffer));
  fn("decode", (b) => {
    const life = vm.getArrayBuffer(b);
    try {
      return newStringExact(vm, dec.decode(life.value));
    } finally {
      life.dispose();
    }
  });
  const decoders = new TextDecoders();
  fn("textDecode", (id, label, flags, b) => {
    let bytes: Uint8Array | undefined;
    if (b && vm.typeof(b) === "object") {
      const life = vm.getArrayBuffer(b);
      bytes = life.value.slice();
      life.dispose();
    }
    const out = decoders.decode(vm.getNumber(id), str(label), vm.getNumber(flags), bytes);
    return out === null ? vm.null : newStringExact(vm, out);
  });
  fn("call", (op, args, body) => {
    let bytes: Uint8Array | undefined;
    if (body && vm.typeof(body) === "object") {
      const life = vm.getArrayBuffer(body);
      bytes = life.value.slice();
      life.dispose();
    }
    const d = vm.newPromise();
    const token = state.current();
    const settleWith = (apply: () => void) => state.settle(token, () => {
      apply();
      d.dispose();
    });
    state.call(str(op), str(args), bytes).then(
      (r) => settleWith(() => {
        const arr = vm.newArray();
        const s = newStringExact(vm, r.json);
        vm.setProp(arr, 0, s);
        s.dispose();
        if (r.bytes) {
          const b = vm.newArrayBuffer(r.bytes.slice().buffer as ArrayBuffer);
          vm.setProp(arr, 1, b);
          b.dispose();
        }
        d.resolve(arr);
        arr.dispose();
      }),
      (e) => settleWith(() => {
        const err = vm.newError(e instanceof Error ? e.message : String(e));
        d.reject(err);
        err.dispose();
      }),
    );
    return d.handle;
  });
  vm.setProp(vm.global, "__cantripHost", host);
  host.dispose();
  return state;
}
