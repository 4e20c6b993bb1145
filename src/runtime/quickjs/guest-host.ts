/**
 * Worker side: the `__cantripHost` functions the prelude captures. They are installed
 * when an interpreter is created (before its agent is known), so each forwards to a
 * mutable HostState that the instance fills in at load time. Every asynchronous request
 * (a host call or a timer) gets a Settler: the instance decides in which call's slice it
 * settles, or drops it.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { captureJson, getStringExact, newStringExact } from "./exact-strings";
import { newRawFunction, type RawArgs, type RawResult } from "./raw-host";
import { TextDecoders } from "../web-bridge";
import { IntlBridge } from "../web-intl";
import { PRELUDE_SOURCES } from "../../../sandbox/dist/prelude.gen";

export interface HostResult {
  json: string;
  bytes?: Uint8Array;
}

/**
 * Settles one guest promise. resolve/reject touch the interpreter: call them only inside
 * a slice (the caller pumps the job queue after). discard frees the promise unsettled.
 */
export interface Settler {
  resolve(r?: HostResult): void;
  reject(message: string): void;
  discard(): void;
}

export interface HostState {
  /** `call`: the call id the guest named (ctx.log), undefined for the global console. */
  log(level: string, message: string, call: number | undefined): void;
  /** A host operation (kv, fetch) for `call` (named by the guest's ctx) or the running slice's call; throws when there is none. */
  call(op: string, args: string, bytes: Uint8Array | undefined, call: number | undefined, settler: Settler): void;
  /**
   * The same operation for a guest that waits on its own promise (the prelude's `host.send`):
   * returns the request's id, which the instance answers through the entry's `settle`
   * (instance.ts resume); throws when there is no call.
   */
  send(op: string, args: string, call: number | undefined): number;
  /**
   * A host operation answered at once, inside the guest's slice: its JSON result, or
   * undefined when it cannot be (the guest then makes it through `call`). Only a kv.get the
   * worker reads from its own connection is (kv-reads.ts).
   */
  now(op: string, args: string, call: number | undefined): string | undefined;
  /** setTimeout: guest timer `id` in the running slice's call; `ms` as the guest passed it (typed by timerDelay()); throws past the per-call limit. */
  timer(id: number, ms: unknown, settler: Settler): void;
  clearTimer(id: number): void;
  /**
   * Runs the URL library's prelude part in this interpreter from bytecode, which parks its
   * classes on `__cantripLibsSource` (vm-factory.ts); false when it could not (then the guest
   * is handed the library's text to evaluate).
   */
  libs(): boolean;
}

const unset = (): never => {
  throw new Error("sandbox host not attached");
};

export function installHost(vm: QuickJSContext): HostState {
  const state: HostState = { log: unset, call: unset, send: unset, now: () => undefined, timer: unset, clearTimer: unset, libs: () => false };
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
  const callId = (h: QuickJSHandle | undefined) => (h !== undefined && vm.typeof(h) === "number" ? vm.getNumber(h) : undefined);
  const settlerOf = (d: ReturnType<QuickJSContext["newPromise"]>): Settler => ({
    resolve(r) {
      if (!r) d.resolve();
      else {
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
      }
      d.dispose();
    },
    reject(message) {
      const err = vm.newError(message);
      d.reject(err);
      err.dispose();
      d.dispose();
    },
    discard() {
      d.dispose();
    },
  });
  fn("log", (level, msg, call) => {
    state.log(str(level), str(msg), callId(call));
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
    const num = (h: QuickJSHandle) => (vm.typeof(h) === "number" ? vm.getNumber(h) : 0);
    const out = decoders.decode(num(id), str(label), num(flags), bytes);
    return out === null ? vm.null : newStringExact(vm, out);
  });
  // What the prelude loads on first use (sandbox/shims/streams.ts, url.ts), kept here once per
  // thread instead of in every interpreter (sandbox/build-prelude.ts): the streams text; for
  // "libs", undefined once the URL library ran from bytecode (its classes parked), else its text.
  fn("source", (name) => {
    const which = vm.typeof(name) === "string" ? str(name) : "";
    if (which === "libs" && state.libs()) return vm.undefined;
    return which === "streams" || which === "libs" ? vm.newString(PRELUDE_SOURCES[which]) : vm.undefined;
  });
  const intl = new IntlBridge();
  fn("intl", (req) => newStringExact(vm, intl.call(vm.typeof(req) === "string" ? str(req) : "")));
  fn("call", (op, args, body, call) => {
    let bytes: Uint8Array | undefined;
    if (body && vm.typeof(body) === "object") {
      const life = vm.getArrayBuffer(body);
      bytes = life.value.slice();
      life.dispose();
    }
    const d = vm.newPromise();
    try {
      state.call(str(op), str(args), bytes, callId(call), settlerOf(d));
    } catch (e) {
      d.dispose();
      throw e;
    }
    return d.handle;
  });
  // The kv calls' two (raw-host.ts): op is the prelude's literal, args the guest's JSON text and units its length, call a number.
  const raw = (name: string, f: (a: RawArgs) => RawResult) => {
    const h = newRawFunction(vm, name, f);
    vm.setProp(host, name, h);
    h.dispose();
  };
  const request = (a: RawArgs): [string, string, number | undefined] => [a.text(0) ?? "", a.text(1, a.number(3)) ?? "", a.number(2)];
  raw("send", (a) => state.send(...request(a)));
  raw("now", (a) => state.now(...request(a)));
  fn("timer", (id, ms) => {
    const d = vm.newPromise();
    try {
      // Only a number is read (getNumber would coerce, running guest code): host-calls.ts types the rest.
      state.timer(vm.getNumber(id), vm.typeof(ms) === "number" ? vm.getNumber(ms) : undefined, settlerOf(d));
    } catch (e) {
      d.dispose();
      throw e;
    }
    return d.handle;
  });
  fn("clearTimer", (id) => {
    state.clearTimer(vm.getNumber(id));
    return undefined;
  });
  vm.setProp(vm.global, "__cantripHost", host);
  host.dispose();
  return state;
}
