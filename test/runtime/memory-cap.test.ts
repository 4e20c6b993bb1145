/**
 * The sandbox memory budget bounds the host's RSS (issue 13 §5): with a 128 MiB budget,
 * eight agents that each hold 44 MB while awaiting a timer must not take the process far
 * past budget + overhead (before the fix: +357 MB, every call served). Calls beyond the
 * budget wait briefly, then get 503 sandbox_memory_exhausted; a bystander is served after.
 * QuickJS only: its instances live in this process, so process RSS is the measure.
 */
import { afterAll, expect, test } from "bun:test";
import { quickjsEngine } from "../../src/runtime";
import type { AppError } from "../../src/errors";
import { bundle, json, makeHarness, req } from "./harness";
import { BYSTANDER, EVAL } from "./contract/fixtures";

const MiB = 1024 * 1024;
const BUDGET = 128 * MiB;
/** The documented overhead above the budget (docs/ARCHITECTURE.md, "Sandbox memory"). */
const OVERHEAD = 64 * MiB;

const H = makeHarness(quickjsEngine, {}, { memoryBudgetBytes: BUDGET });
afterAll(() => H.close());

test("eight agents holding 44 MB each: RSS stays within budget + overhead; the excess gets 503 with Retry-After", async () => {
  const code = await bundle(EVAL);
  const by = H.ref("rss-bystander", await bundle(BYSTANDER));
  expect((await H.runtime.fetch(by, req("POST", "/", { n: 1 }))).status).toBe(200);
  Bun.gc(true);
  await Bun.sleep(100);
  const base = process.memoryUsage.rss();
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const hold = `const keep = new Uint8Array(44 * 1000 * 1000); for (let i = 0; i < keep.length; i += 4096) keep[i] = 1;
    await new Promise((r) => setTimeout(r, 3000)); return keep.length;`;
  const outs = await Promise.all(
    Array.from({ length: 8 }, (_, i) => H.runtime.fetch(H.ref(`rss-${i}`, code), req("POST", "/eval", { code: hold })).then(
      (r) => ({ ok: json(r).result === 44e6 }),
      (e: AppError) => ({ ok: false, code: e.code, status: e.status, retry: e.headers?.["retry-after"] }),
    )),
  );
  clearInterval(sampler);
  const served = outs.filter((o) => o.ok).length;
  const refused = outs.filter((o) => !o.ok);
  console.log(`rss base ${(base / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB (+${((peak - base) / MiB).toFixed(0)}), served ${served}, refused ${refused.length}`);
  expect(served).toBeGreaterThanOrEqual(1);
  expect(refused.length).toBeGreaterThanOrEqual(1);
  for (const r of refused) expect(r).toMatchObject({ code: "sandbox_memory_exhausted", status: 503, retry: "1" });
  expect(peak - base).toBeLessThanOrEqual(BUDGET + OVERHEAD);
  expect(H.runtime.stats().memoryBytes).toBeLessThanOrEqual(BUDGET);
  // The bystander is served afterwards, in the same process.
  expect((await H.runtime.fetch(by, req("POST", "/", { n: 1 }))).status).toBe(200);
}, 60000);
