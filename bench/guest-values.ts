/**
 * Cost of the guest → host validation point (src/runtime/guest-values.ts) per response,
 * against the same-run baseline of what the host did before it existed: one JSON.parse of
 * the prelude's metadata text. Typical SDK responses (1 and 8 headers). Run:
 * `bun bench/guest-values.ts`.
 */
import { acceptResponse } from "../src/runtime/guest-values";
import { defaultLimits } from "../src/runtime/types";

const N = 200_000;
const body = new TextEncoder().encode('{"ok":true}');
const cases = {
  "1 header": JSON.stringify({ status: 200, headers: [["content-type", "application/json"]] }),
  "8 headers": JSON.stringify({ status: 201, headers: Array.from({ length: 8 }, (_, i) => [`x-header-${i}`, `value number ${i} with some text`]) }),
};

function time(fn: () => unknown): number {
  for (let i = 0; i < 10_000; i++) fn();
  const t = performance.now();
  for (let i = 0; i < N; i++) fn();
  return ((performance.now() - t) * 1000) / N;
}

for (const [name, meta] of Object.entries(cases)) {
  const base = time(() => JSON.parse(meta));
  const full = time(() => acceptResponse({ meta, body, logs: [], cpuMs: 1, wallMs: 1 }, defaultLimits));
  console.log(`${name}: JSON.parse only ${base.toFixed(2)} µs, acceptResponse ${full.toFixed(2)} µs (${(full / base).toFixed(2)}x; +${(full - base).toFixed(2)} µs per call)`);
}
