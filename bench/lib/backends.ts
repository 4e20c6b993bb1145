/**
 * Guest backends shared by the benchmarks and the reliability runs: the trivial JSON
 * backend (answers `{ok, n, version}`), a variant whose top-level code burns CPU so that
 * loading it (and therefore a deploy) takes a while, and the same trivial handler written
 * as a plain Workers-style module for workerd.
 */

/**
 * The trivial JSON backend of the hot-path benches (bench/invoke.ts, stalls.ts,
 * allocations.ts): validates `{n?: number}` and answers `{ok: true, n}`.
 */
export const INVOKE_TRIVIAL = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0 }) } },
});
`;

/** The trivial JSON backend against the "cantrip" SDK; `version` is echoed in every answer. */
export function trivialBackend(version: number): string {
  return `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0, version: ${version} }) } },
});
`;
}

/**
 * The trivial backend whose module body spins for about `spinMs` of wall time before it
 * defines the backend (bounded by an iteration cap in case the guest's clock is coarse).
 */
export function slowLoadBackend(version: number, spinMs: number): string {
  return `
import { defineBackend, t } from "cantrip";
const until = Date.now() + ${spinMs};
let spins = 0;
while (Date.now() < until && spins < 200000000) spins++;
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0, version: ${version}, spins }) } },
});
`;
}

/** The same work as trivialBackend for workerd: parse the JSON body, answer JSON. */
export const workerdTrivialModule = `
export default {
  async fetch(request) {
    const input = await request.json().catch(() => ({}));
    return Response.json({ ok: true, n: input.n ?? 0, version: 1 });
  },
};
`;
