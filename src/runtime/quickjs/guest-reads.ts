/**
 * Worker side: reading what a guest handed back out of its interpreter, without
 * interpreting it — the prelude's [metadata, body] pair (the host checks both in
 * src/runtime/guest-values.ts), an error's text, peeks at the metadata the worker itself
 * needs (a 5xx status after an allocation failure, a streamed body's head) — and how an
 * engine message maps to a failure reason.
 */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import type { GuestLogLine, RuntimeFailureReason } from "../types";
import type { RawGuestResponse } from "../guest-values";
import { getStringExact } from "./exact-strings";

const OOM = /out of memory|\bOOM\b|Cannot enlarge memory|memory access out of bounds|Out of bounds memory/i;

/**
 * A response as the worker holds it before sending: like RawGuestResponse, but a body the
 * guest gave as a string stays a string (the main thread encodes it; see wire.ts).
 */
export type WorkerResponse = Omit<RawGuestResponse, "body"> & { body: Uint8Array | string };

/** A pull's or cancel's outcome (protocol.ts "chunk"). */
export interface StreamReply {
  kind: "chunk" | "end" | "error";
  body?: Uint8Array;
  problem?: string;
  logs?: GuestLogLine[];
  cpuMs?: number;
  wallMs?: number;
  dropped: boolean;
}

export const EMPTY = new Uint8Array(0);

export function classify(message: string): RuntimeFailureReason {
  if (OOM.test(message)) return "memory_limit";
  if (/\binterrupted\b/.test(message)) return "cpu_timeout";
  return "crashed";
}

/** The status in the prelude's metadata, or 0 when it has none (the host checks it properly). */
export function peekStatus(meta: string | null): number {
  try {
    const s = meta === null ? 0 : (JSON.parse(meta) as { status?: unknown } | null)?.status;
    return typeof s === "number" ? s : 0;
  } catch {
    return 0;
  }
}

/** True when the prelude's response metadata says a streamed body follows. */
export function metaSaysStream(meta: string | null): boolean {
  try {
    return meta !== null && (JSON.parse(meta) as { stream?: unknown } | null)?.stream === true;
  } catch {
    return false;
  }
}

/**
 * Copies a `[metadata, body]` pair out of the interpreter (and disposes `arr`): metadata
 * text or null; the body as text, a fresh copy of its bytes, or empty with a `problem`
 * (not bytes or text, or over `maxBytes`).
 */
export function readPair(vm: QuickJSContext, arr: QuickJSHandle, maxBytes: number): Pick<WorkerResponse, "meta" | "body" | "problem"> {
  try {
    const mh = vm.getProp(arr, 0);
    const meta = vm.typeof(mh) === "string" ? vm.getString(mh) : null;
    mh.dispose();
    const bh = vm.getProp(arr, 1);
    try {
      const kind = vm.typeof(bh);
      if (kind === "string") return { meta, body: getStringExact(vm, bh) };
      if (kind === "undefined" || vm.sameValue(bh, vm.null)) return { meta, body: EMPTY };
      if (kind !== "object") return { meta, body: EMPTY, problem: `the body is a ${kind}, not bytes or text` };
      let life: ReturnType<typeof vm.getArrayBuffer>;
      try {
        life = vm.getArrayBuffer(bh);
      } catch {
        return { meta, body: EMPTY, problem: "the body is an object that is not bytes or text" };
      }
      try {
        const n = life.value.byteLength;
        if (n > maxBytes) return { meta, body: EMPTY, problem: `the body (${n} bytes) exceeds the limit of ${maxBytes} bytes` };
        return { meta, body: life.value.slice() };
      } finally {
        life.dispose();
      }
    } finally {
      bh.dispose();
    }
  } finally {
    arr.dispose();
  }
}

/** An error value's text (`name: message\nstack`), disposing the handle. */
export function errorText(vm: QuickJSContext, h: QuickJSHandle): string {
  try {
    const e = vm.dump(h) as { name?: string; message?: string; stack?: string } | string;
    if (typeof e !== "object" || e === null) return String(e);
    return `${e.name ?? "Error"}: ${e.message ?? ""}${e.stack ? `\n${e.stack}` : ""}`.trim();
  } finally {
    h.dispose();
  }
}
