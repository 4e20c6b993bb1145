/**
 * Contract: the sandbox memory budget is a cap on every instance, busy ones included
 * (issue 13 §5). A call whose instance could not grow to its memory limit within the
 * budget waits briefly, then gets 503 sandbox_memory_exhausted with Retry-After; once the
 * memory is released, the same agent is served. Its own harness: a small budget.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AppError } from "../../../src/errors";
import type { EngineFactory } from "../../../src/runtime";
import { bundle, json, makeHarness, req, type Harness } from "../harness";
import { EVAL } from "./fixtures";

const MiB = 1024 * 1024;

export function memoryBudgetTests(engine: EngineFactory) {
  describe("memory budget", () => {
    let H: Harness;
    beforeAll(() => {
      // Room for one busy instance at a 64 MiB limit, not two.
      H = makeHarness(engine, {}, { memoryBudgetBytes: 100 * MiB });
    });
    afterAll(() => H.close());

    test("a call that would exceed the budget waits, then gets 503 sandbox_memory_exhausted; later it is served", async () => {
      const code = await bundle(EVAL);
      const limits = { memoryBytes: 64 * MiB, wallMs: 5000 };
      const holder = H.ref("budget-holder", code, { limits });
      const other = H.ref("budget-other", code, { limits });
      const held = H.runtime.fetch(holder, req("POST", "/eval", { code: `const keep = new Uint8Array(20 * 1024 * 1024).fill(1); await new Promise((r) => setTimeout(r, 1800)); return keep.length;` }));
      await Bun.sleep(150);
      const t0 = performance.now();
      const refused = await H.runtime.fetch(other, req("POST", "/eval", { code: "return 1;" })).then(
        () => null,
        (e: AppError) => e,
      );
      const waited = performance.now() - t0;
      expect(refused?.code).toBe("sandbox_memory_exhausted");
      expect(refused?.status).toBe(503);
      expect(refused?.headers?.["retry-after"]).toBe("1");
      expect((refused?.details as { reason: string }).reason).toBe("memory_budget");
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(json(await held).result).toBe(20 * MiB);
      expect(json(await H.runtime.fetch(other, req("POST", "/eval", { code: "return 2;" }))).result).toBe(2);
      expect(H.runtime.stats().memoryBytes).toBeLessThanOrEqual(100 * MiB);
    }, 30000);

    test("an agent whose memory limit exceeds the whole budget is refused at once", async () => {
      const ref = H.ref("budget-huge", await bundle(EVAL), { limits: { memoryBytes: 128 * MiB } });
      const t0 = performance.now();
      const e = await H.runtime.fetch(ref, req("POST", "/eval", { code: "return 1;" })).then(() => null, (x: AppError) => x);
      expect(e?.code).toBe("sandbox_memory_exhausted");
      expect(e?.message).toContain("larger than the sandbox's whole memory budget");
      expect(performance.now() - t0).toBeLessThan(500);
    }, 30000);
  });
}
