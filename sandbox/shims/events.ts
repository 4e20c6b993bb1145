/**
 * DOMException, Event, EventTarget, AbortController and AbortSignal (DOM standard,
 * https://dom.spec.whatwg.org/): enough of the event model for abort signals and for
 * code written against browsers — listeners with `once`, `signal`, `capture` (no tree:
 * the target is the only node), handleEvent objects, `onabort`; `AbortSignal.abort`,
 * `timeout` (a guest timer, so it ends with the call) and `any`.
 */
import { setTimeout } from "./misc";

/** Legacy code constants, in the order the WebIDL defines them (also the names' codes). */
const LEGACY: [string, number][] = [
  ["INDEX_SIZE_ERR", 1], ["DOMSTRING_SIZE_ERR", 2], ["HIERARCHY_REQUEST_ERR", 3], ["WRONG_DOCUMENT_ERR", 4], ["INVALID_CHARACTER_ERR", 5],
  ["NO_DATA_ALLOWED_ERR", 6], ["NO_MODIFICATION_ALLOWED_ERR", 7], ["NOT_FOUND_ERR", 8], ["NOT_SUPPORTED_ERR", 9], ["INUSE_ATTRIBUTE_ERR", 10],
  ["INVALID_STATE_ERR", 11], ["SYNTAX_ERR", 12], ["INVALID_MODIFICATION_ERR", 13], ["NAMESPACE_ERR", 14], ["INVALID_ACCESS_ERR", 15],
  ["VALIDATION_ERR", 16], ["TYPE_MISMATCH_ERR", 17], ["SECURITY_ERR", 18], ["NETWORK_ERR", 19], ["ABORT_ERR", 20], ["URL_MISMATCH_ERR", 21],
  ["QUOTA_EXCEEDED_ERR", 22], ["TIMEOUT_ERR", 23], ["INVALID_NODE_TYPE_ERR", 24], ["DATA_CLONE_ERR", 25],
];
const CODES: Record<string, number> = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5, NoModificationAllowedError: 7,
  NotFoundError: 8, NotSupportedError: 9, InUseAttributeError: 10, InvalidStateError: 11, SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14,
  InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};

export class DOMException extends Error {
  #name: string;
  #message: string;
  constructor(message = "", name = "Error") {
    super(String(message));
    this.#message = String(message);
    this.#name = String(name);
  }
  override get name(): string {
    return this.#name;
  }
  override get message(): string {
    return this.#message;
  }
  get code(): number {
    return CODES[this.#name] ?? 0;
  }
  get [Symbol.toStringTag](): string {
    return "DOMException";
  }
}
for (const [constName, code] of LEGACY) {
  Object.defineProperty(DOMException, constName, { value: code, enumerable: true });
  Object.defineProperty(DOMException.prototype, constName, { value: code, enumerable: true });
}

export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

export class Event {
  static readonly NONE = 0;
  static readonly CAPTURING_PHASE = 1;
  static readonly AT_TARGET = 2;
  static readonly BUBBLING_PHASE = 3;
  readonly type: string;
  readonly bubbles: boolean;
  readonly cancelable: boolean;
  readonly composed: boolean;
  readonly timeStamp = Date.now();
  readonly isTrusted = false;
  _target: EventTarget | null = null;
  _phase = 0;
  _stop = false;
  _stopNow = false;
  _canceled = false;
  _dispatching = false;
  constructor(type: string, init: EventInit = {}) {
    if (arguments.length < 1) throw new TypeError("Event: 1 argument required");
    this.type = String(type);
    this.bubbles = !!init?.bubbles;
    this.cancelable = !!init?.cancelable;
    this.composed = !!init?.composed;
  }
  get target(): EventTarget | null {
    return this._target;
  }
  get currentTarget(): EventTarget | null {
    return this._dispatching ? this._target : null;
  }
  get srcElement(): EventTarget | null {
    return this._target;
  }
  get eventPhase(): number {
    return this._phase;
  }
  get defaultPrevented(): boolean {
    return this._canceled;
  }
  get returnValue(): boolean {
    return !this._canceled;
  }
  get cancelBubble(): boolean {
    return this._stop;
  }
  set cancelBubble(v: boolean) {
    if (v) this._stop = true;
  }
  composedPath(): EventTarget[] {
    return this._dispatching && this._target ? [this._target] : [];
  }
  stopPropagation(): void {
    this._stop = true;
  }
  stopImmediatePropagation(): void {
    this._stop = this._stopNow = true;
  }
  preventDefault(): void {
    if (this.cancelable) this._canceled = true;
  }
  get [Symbol.toStringTag](): string {
    return "Event";
  }
}

type Listener = ((e: Event) => unknown) | { handleEvent(e: Event): unknown };
interface Entry {
  cb: Listener;
  capture: boolean;
  once: boolean;
  removed: boolean;
}

export class EventTarget {
  #listeners = new Map<string, Entry[]>();
  addEventListener(type: string, cb: Listener | null, opts?: boolean | { capture?: boolean; once?: boolean; passive?: boolean; signal?: AbortSignal }): void {
    if (cb === null || cb === undefined) return;
    const o = typeof opts === "object" && opts !== null ? opts : { capture: !!opts };
    const signal = (o as { signal?: AbortSignal }).signal;
    if (signal?.aborted) return;
    const capture = !!o.capture;
    const list = this.#listeners.get(String(type)) ?? [];
    if (list.some((e) => e.cb === cb && e.capture === capture)) return;
    const entry: Entry = { cb, capture, once: !!(o as { once?: boolean }).once, removed: false };
    list.push(entry);
    this.#listeners.set(String(type), list);
    signal?.addEventListener("abort", () => this.removeEventListener(type, cb, { capture }));
  }
  removeEventListener(type: string, cb: Listener | null, opts?: boolean | { capture?: boolean }): void {
    const capture = typeof opts === "object" && opts !== null ? !!opts.capture : !!opts;
    const list = this.#listeners.get(String(type));
    if (!list) return;
    const i = list.findIndex((e) => e.cb === cb && e.capture === capture);
    if (i >= 0) {
      list[i]!.removed = true;
      list.splice(i, 1);
    }
  }
  dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event)) throw new TypeError("dispatchEvent: argument is not an Event");
    if (event._dispatching) throw new DOMException("The event is already being dispatched.", "InvalidStateError");
    event._target = this;
    event._dispatching = true;
    event._phase = 2;
    try {
      for (const entry of [...(this.#listeners.get(event.type) ?? [])]) {
        if (entry.removed) continue;
        if (entry.once) this.removeEventListener(event.type, entry.cb, { capture: entry.capture });
        try {
          if (typeof entry.cb === "function") entry.cb.call(this, event);
          else if (entry.cb && typeof entry.cb.handleEvent === "function") entry.cb.handleEvent(event);
        } catch (e) {
          Promise.reject(e); // reported, as a browser reports a listener's exception, without stopping dispatch
        }
        if (event._stopNow) break;
      }
    } finally {
      event._dispatching = false;
      event._phase = 0;
      event._stop = event._stopNow = false;
    }
    return !event._canceled;
  }
  get [Symbol.toStringTag](): string {
    return "EventTarget";
  }
}

const PRIVATE = Symbol("AbortSignal");

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason: unknown = undefined;
  #onabort: ((e: Event) => unknown) | null = null;
  #handlerAdded = false;
  /** Signals made by AbortSignal.any() that follow this one. */
  #dependents: AbortSignal[] = [];
  /** For a signal made by any(): the (non-dependent) signals it follows. */
  #sources: AbortSignal[] | null = null;
  constructor(key?: symbol) {
    if (key !== PRIVATE) throw new TypeError("Illegal constructor: use new AbortController().signal");
    super();
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): unknown {
    return this.#reason;
  }
  /** The event handler attribute: a listener registered when first set (HTML's event handler rules). */
  get onabort(): ((e: Event) => unknown) | null {
    return this.#onabort;
  }
  set onabort(f: ((e: Event) => unknown) | null) {
    this.#onabort = typeof f === "function" ? f : null;
    if (!this.#handlerAdded && this.#onabort) {
      this.#handlerAdded = true;
      this.addEventListener("abort", (e) => this.#onabort?.call(this, e));
    }
  }
  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }
  /** DOM "signal abort": marks this and its dependents aborted, then fires "abort" on each in order. */
  _abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    const fire: AbortSignal[] = [];
    for (const d of this.#dependents) {
      if (d.#aborted) continue;
      d.#aborted = true;
      d.#reason = this.#reason;
      fire.push(d);
    }
    this.#dependents = [];
    this.dispatchEvent(new Event("abort"));
    for (const d of fire) d.dispatchEvent(new Event("abort"));
  }
  static abort(reason?: unknown): AbortSignal {
    const s = new AbortSignal(PRIVATE);
    s._abort(reason);
    return s;
  }
  static timeout(ms: number): AbortSignal {
    const s = new AbortSignal(PRIVATE);
    setTimeout(() => s._abort(new DOMException("The operation timed out.", "TimeoutError")), Math.max(0, Number(ms) || 0));
    return s;
  }
  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const list = [...signals];
    for (const x of list) if (!(x instanceof AbortSignal)) throw new TypeError("AbortSignal.any: every item must be an AbortSignal");
    const s = new AbortSignal(PRIVATE);
    const done = list.find((x) => x.aborted);
    if (done) {
      s.#aborted = true;
      s.#reason = done.reason;
      return s;
    }
    s.#sources = [];
    for (const x of list) {
      for (const src of x.#sources ?? [x]) {
        if (s.#sources.includes(src)) continue;
        s.#sources.push(src);
        src.#dependents.push(s);
      }
    }
    return s;
  }
  override get [Symbol.toStringTag](): string {
    return "AbortSignal";
  }
}

export class AbortController {
  readonly signal = new AbortSignal(PRIVATE);
  abort(reason?: unknown): void {
    this.signal._abort(reason);
  }
  get [Symbol.toStringTag](): string {
    return "AbortController";
  }
}
