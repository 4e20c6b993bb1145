/**
 * A start-up check of the sandbox (for /readyz and `cantrip selftest`): loads a small
 * embedded backend bundle into a fresh instance and calls it, through the real workers.
 */
import type { BundleRef, SandboxRuntime } from "./types";
import { defaultLimits } from "./types";

/**
 * `loadCheck` (default true): first load-check the bundle on the load worker, as a deploy does,
 * then call it. /readyz passes false: readiness is the call path (the bundle loaded by a
 * call-serving worker and called), and a just-started server's load worker compiles its own
 * QuickJS module and makes its first interpreter in not-yet-optimised WebAssembly (~0.2 s
 * more, spawn-worker.ts), which a readiness probe need not wait for.
 */
export interface SelftestOptions {
  loadCheck?: boolean;
}

const BUNDLE = `import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: {
    "POST /": {
      input: t.Object({ a: t.Number(), b: t.Number() }),
      output: t.Object({ sum: t.Number(), id: t.String() }),
      handle: async ({ a, b }) => ({ sum: a + b, id: crypto.randomUUID() }),
    },
  },
});`;

/** Never throws: `{ ok: false, detail }` says what failed. */
export async function runSelftest(runtime: SandboxRuntime, opts: SelftestOptions = {}): Promise<{ ok: boolean; detail: string }> {
  const started = performance.now();
  const ref: BundleRef = {
    agentId: "cantrip-selftest",
    bundleId: `selftest-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    code: BUNDLE,
    config: { agentId: "cantrip-selftest", limits: { ...defaultLimits, wallMs: 5000 }, allowedHosts: [], secrets: [] },
  };
  try {
    if (opts.loadCheck !== false) {
      const d = await runtime.check(ref);
      if (d.routes.length !== 1) return { ok: false, detail: `describe() returned ${d.routes.length} routes, expected 1` };
    }
    const body = new TextEncoder().encode(JSON.stringify({ a: 2, b: 40 }));
    const res = await runtime.fetch(ref, { method: "POST", url: "http://selftest.cantrip.internal/", headers: [["content-type", "application/json"]], body });
    const out = JSON.parse(new TextDecoder().decode(res.body)) as { sum?: number; id?: string };
    if (res.status !== 200 || out.sum !== 42 || typeof out.id !== "string") return { ok: false, detail: `unexpected response ${res.status}: ${new TextDecoder().decode(res.body).slice(0, 200)}` };
    return { ok: true, detail: `sandbox answered in ${(performance.now() - started).toFixed(1)} ms` };
  } catch (e) {
    return { ok: false, detail: `sandbox self-test failed: ${(e as Error).message}` };
  } finally {
    runtime.evict(ref.agentId);
  }
}
