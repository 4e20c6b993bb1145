/**
 * The reference run: one Bun Worker per WPT file (a fresh global scope), evaluating the
 * same adapter and upstream files the guest evaluates, against Bun's own Web APIs.
 */
export {};
const worker = globalThis as unknown as Worker;

worker.onmessage = async (ev: MessageEvent<{ adapter: string; files: Record<string, string>; path: string; scripts: string[]; timeoutMs: number }>) => {
  const { adapter, files, path, scripts, timeoutMs } = ev.data;
  try {
    (0, eval)(adapter);
    const out = await (globalThis as any).__wptRun(files, path, scripts, timeoutMs);
    worker.postMessage({ ok: true, out: JSON.parse(JSON.stringify(out)) });
  } catch (e) {
    worker.postMessage({ ok: false, error: String((e as Error)?.stack ?? e) });
  }
};
