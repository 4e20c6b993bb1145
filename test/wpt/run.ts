/**
 * Runs one vendored WPT file in the cantrip guest (a fresh agent bundle per file, through
 * the real runtime) or in a Bun Worker (the reference), with the same adapter.
 */
import type { Harness } from "../runtime/harness";
import { ADAPTER, type FileOutcome, type WptFile } from "./files";

/** Per-file limits for the guest run (the interpreter is ~60× slower than Bun's JIT). */
export const GUEST_LIMITS = { cpuMs: 20_000, wallMs: 30_000, memoryBytes: 128 * 1024 * 1024, logLines: 10, responseBytes: 5 * 1024 * 1024 };
/** How long a file's subtests may take before the adapter reports what finished. */
export const FILE_TIMEOUT_MS = 10_000;

/** The guest module for one file: evaluates the adapter and answers with the outcome. */
export function guestModule(t: WptFile): string {
  return `const FILES = ${JSON.stringify(t.files)};
const ADAPTER = ${JSON.stringify(ADAPTER)};
const R = Response, S = JSON.stringify;
export default {
  async fetch() {
    try {
      (0, eval)(ADAPTER);
      const out = await globalThis.__wptRun(FILES, ${JSON.stringify(t.path)}, ${JSON.stringify(t.scripts)}, ${FILE_TIMEOUT_MS});
      return new R(S(out), { headers: { "content-type": "application/json" } });
    } catch (e) {
      return new R(S({ results: [], end: { status: 1, message: null }, harnessError: String(e && e.stack || e) }), { status: 200 });
    }
  },
};`;
}

let seq = 0;

export async function runInGuest(H: Harness, t: WptFile): Promise<FileOutcome> {
  const id = `wpt${++seq}`;
  const ref = H.ref(id, guestModule(t), { limits: GUEST_LIMITS, bundleId: id });
  try {
    const r = await H.runtime.fetch(ref, { method: "GET", url: "http://agent.cantrip.internal/", headers: [], body: null });
    const body = new TextDecoder().decode(r.body);
    try {
      return JSON.parse(body) as FileOutcome;
    } catch {
      return { results: [], end: { status: 1, message: null }, harnessError: `status ${r.status}: ${body.slice(0, 300)}` };
    }
  } catch (e) {
    return { results: [], end: { status: 1, message: null }, harnessError: String((e as Error)?.message ?? e).slice(0, 300) };
  }
}

export function runInBun(t: WptFile): Promise<FileOutcome> {
  const w = new Worker(new URL("./bun-worker.ts", import.meta.url).href);
  return new Promise<FileOutcome>((resolve) => {
    const kill = setTimeout(() => finish({ results: [], end: { status: 2, message: null }, harnessError: "worker timeout" }), FILE_TIMEOUT_MS + 5000);
    const finish = (o: FileOutcome) => {
      clearTimeout(kill);
      w.terminate();
      resolve(o);
    };
    w.onmessage = (ev) => finish(ev.data.ok ? ev.data.out : { results: [], end: { status: 1, message: null }, harnessError: ev.data.error });
    w.onerror = (ev) => finish({ results: [], end: { status: 1, message: null }, harnessError: String(ev.message) });
    w.postMessage({ adapter: ADAPTER, files: t.files, path: t.path, scripts: t.scripts, timeoutMs: FILE_TIMEOUT_MS });
  });
}

/** Runs fn over items with at most `n` in flight. */
export async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}
