/**
 * Re-running a bystander. When a worker is killed because of another call, the calls
 * that were in flight on it lose their guest state; the runtime runs them again on a
 * fresh instance. What makes that safe is this journal of the call's host calls: every
 * kv/fetch request of the first attempt is recorded with its (possibly still pending)
 * result, and on the re-run the same requests, in the same order with the same
 * arguments, are answered from the record instead of being made again. So a kv write or
 * an outbound fetch happens once, however often the guest code runs; kv reads answer what
 * the first attempt saw. When the re-run asks for something else (a backend that is not
 * deterministic: random ids, timestamps in a key) the journal checks what it still holds:
 * if none of the remaining records is a side effect (kv.set, kv.delete, fetch) it drops
 * them and continues live; otherwise the call fails (`crashed`), because going on would
 * repeat or skip a side effect.
 */
import type { CallBridge } from "./engine";
import { failure } from "./failures";
import type { AppError } from "../errors";

type HostResult = Awaited<ReturnType<CallBridge["call"]>>;

interface Record {
  op: string;
  args: string;
  bytes: Uint8Array | undefined;
  result: Promise<HostResult>;
  effect: boolean;
}

/** Host operations whose effect outlives the call: never performed twice. */
const EFFECTS = new Set(["kv.set", "kv.delete", "fetch"]);

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return !a?.byteLength && !b?.byteLength;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Journal {
  private records: Record[] = [];
  private attempt = 0;
  private abortError: AppError | null = null;
  private rejectAborted: (e: AppError) => void = () => {};
  /** Made on the first re-run (only a re-run can be given up): a first attempt allocates nothing for it. */
  private abortedP: Promise<never> | null = null;
  private realBridge: CallBridge | null = null;

  /**
   * `makeReal` makes the call's one host bridge (its per-call counters span every attempt),
   * on the first host call: a call that makes none never builds it.
   */
  constructor(private makeReal: () => CallBridge) {}

  private get real(): CallBridge {
    return (this.realBridge ??= this.makeReal());
  }

  /** Host calls recorded so far, and how many of them had side effects. */
  get size(): { calls: number; effects: number } {
    return { calls: this.records.length, effects: this.records.filter((r) => r.effect).length };
  }

  /** The bridge for the next attempt; earlier attempts' bridges refuse further calls. */
  bridge(): CallBridge {
    const attempt = ++this.attempt;
    let cursor = 0;
    let live = attempt === 1;
    return {
      replaying: attempt > 1,
      // A read the engine answered itself (a first attempt's kv.get from the worker's own
      // connection): recorded in its place, so a re-run is answered what this attempt saw.
      // Only a live attempt's reads are recorded; a re-run's reads come through call().
      record: (op, args, json) => {
        if (attempt !== this.attempt || this.abortError || !live) return;
        this.records.push({ op, args, bytes: undefined, result: Promise.resolve({ json }), effect: EFFECTS.has(op) });
        cursor++;
      },
      call: (op, args, bytes) => {
        if (attempt !== this.attempt || this.abortError) return Promise.reject(new Error("the call has ended"));
        if (!live) {
          const r = this.records[cursor];
          if (r && r.op === op && r.args === args && sameBytes(r.bytes, bytes)) {
            cursor++;
            return r.result;
          }
          const pending = this.records.slice(cursor).filter((x) => x.effect).map((x) => x.op);
          if (pending.length) {
            this.abort(`The sandbox worker was restarted after another call exceeded its limits, and this call could not be re-run safely: on the re-run it asked for ${op} where it had asked for ${r?.op ?? "nothing more"} before, after side effects (${pending.join(", ")}) that must not be repeated or skipped.`);
            return Promise.reject(new Error("the call has ended"));
          }
          this.records.length = cursor;
          live = true;
        }
        const result = this.real.call(op, args, bytes);
        result.catch(() => {});
        this.records.push({ op, args, bytes, result, effect: EFFECTS.has(op) });
        cursor++;
        return result;
      },
    };
  }

  /**
   * `p`, unless the journal gives up on the attempt first (then that failure). Only a re-run
   * can be given up (abort() is reached only while replaying), so the first attempt's `p`
   * is returned as it is.
   */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.attempt <= 1) return p;
    if (!this.abortedP) {
      this.abortedP = this.abortError ? Promise.reject(this.abortError) : new Promise<never>((_, reject) => (this.rejectAborted = reject));
      this.abortedP.catch(() => {});
    }
    return Promise.race([p, this.abortedP]);
  }

  private abort(message: string): void {
    if (this.abortError) return;
    this.abortError = failure("crashed", message);
    this.rejectAborted(this.abortError);
  }
}
