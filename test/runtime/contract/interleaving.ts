/**
 * Contract: calls interleaved in one instance keep their own state (issue 13 §6). A host
 * request belongs to the call that made it, wherever its continuation runs; a timer never
 * fires early, dies with its call (in the guest too) and frees its slot when cleared.
 */
import { describe, expect, test } from "bun:test";
import { bundle, failureOf, json, req, type Harness } from "../harness";
import { BYSTANDER, EVAL } from "./fixtures";

/** Request coalescing: concurrent requests share one in-flight ctx.kv.get("config"). */
const COALESCE = `
import { defineBackend, t } from "cantrip";
let inflight = null;
export default defineBackend({ routes: {
  "POST /c": { input: t.Object({ i: t.Integer() }), handle: async ({ i }, ctx) => {
    inflight ??= ctx.kv.get("config").finally(() => { inflight = null; });
    const config = await inflight;
    ctx.log("request " + i);
    await ctx.kv.set("seen-" + i, i);
    const mine = await ctx.kv.get("seen-" + i);
    return { i, mine, config };
  } },
} });`;

export function interleavingTests(h: () => Harness) {
  let n = 0;
  const evalRef = async (H: Harness, limits: Record<string, number> = {}) => H.ref("timers", await bundle(EVAL), { limits, bundleId: `timers-${++n}` });

  describe("interleaved calls in one instance", () => {
    test("a shared in-flight ctx.kv.get: every request gets its own results and logs (none hangs)", async () => {
      const H = h();
      const ref = H.ref("coalesce", await bundle(COALESCE), { limits: { wallMs: 3000 } });
      for (let round = 0; round < 3; round++) {
        const out = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => H.runtime.fetch(ref, req("POST", "/c", { i: round * 10 + i })).catch((e) => e as Error)));
        out.forEach((r, i) => {
          if (r instanceof Error) throw new Error(`request ${i} of round ${round} failed: ${r.message}`);
          expect(json(r)).toEqual({ i: round * 10 + i, mine: round * 10 + i });
          expect(r.logs.map((l) => l.message)).toEqual([`request ${round * 10 + i}`]);
        });
      }
    }, 30000);

    test("a host result whose call already ended reaches the call still waiting for it", async () => {
      const H = h();
      const ref = await evalRef(H, { wallMs: 2000 });
      H.db.sqlite.run("INSERT OR REPLACE INTO kv (agent_id, key, value, size) VALUES ('timers', 'config', '\"shared\"', 8)");
      // B waits for a promise that A starts and abandons: A has ended when the result arrives.
      const b = H.runtime.fetch(ref, req("POST", "/eval", { code: `while (!globalThis.inflight) await new Promise((r) => setTimeout(r, 2)); return await globalThis.inflight;` }));
      await Bun.sleep(30);
      const a = await H.runtime.fetch(ref, req("POST", "/eval", { code: `globalThis.inflight = ctx.kv.get("config"); return "started";` }));
      expect(json(a).result).toBe("started");
      expect(json(await b).result).toBe("shared");
    }, 30000);

    test("Promise.race with a long timeout: timers left by ended calls are cancelled in the guest (call 1001 still works)", async () => {
      const H = h();
      const ref = await evalRef(H);
      const code = `return await Promise.race([ctx.kv.get("work"), new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 5000))]) ?? 1;`;
      for (let i = 0; i < 1005; i++) {
        const r = await H.runtime.fetch(ref, req("POST", "/eval", { code }));
        if (r.status !== 200) throw new Error(`call ${i + 1}: ${r.status} ${new TextDecoder().decode(r.body)}`);
      }
    }, 60000);

    test("clearTimeout frees the timer's slot: 1500 set/clear pairs, then a timer still fires", async () => {
      const H = h();
      const r = await H.runtime.fetch(await evalRef(H, { wallMs: 2000 }), req("POST", "/eval", {
        code: `for (let i = 0; i < 1500; i++) clearTimeout(setTimeout(() => {}, 60000));
               let fired = 0; setTimeout(() => fired++, 0); const t = setTimeout(() => fired += 100, 5); clearTimeout(t);
               await new Promise((r) => setTimeout(r, 20)); return fired;`,
      }));
      expect(json(r).result).toBe(1);
    }, 30000);

    test("a timer longer than the wall limit never fires: the call ends as a timeout, every time", async () => {
      const H = h();
      const ref = await evalRef(H, { wallMs: 200 });
      // Each timeout drops the instance, so each call follows a fresh load whose own deadline
      // armed the worker's wall timer first: a timer clamped to the wall limit won that race.
      for (let i = 0; i < 6; i++) {
        const f = await failureOf(() => H.runtime.fetch(ref, req("POST", "/eval", { code: `await new Promise((r) => setTimeout(r, 60000)); return "woke early";` })));
        expect(f).toMatchObject({ code: "endpoint_timeout", reason: "wall_timeout" });
      }
      const r = await H.runtime.fetch(ref, req("POST", "/eval", { code: `const t0 = Date.now(); await new Promise((r) => setTimeout(r, 30)); return Date.now() - t0;` }));
      expect(json(r).result).toBeGreaterThanOrEqual(29);
      const huge = await failureOf(() => H.runtime.fetch(ref, req("POST", "/eval", { code: `await new Promise((r) => setTimeout(r, 2 ** 32 + 5)); return "overflowed";` })));
      expect(huge.reason).toBe("wall_timeout");
    }, 30000);

    test("cancelling an ended call's timers stays bounded even with sabotaged builtins", async () => {
      const H = h();
      const ref = await evalRef(H, { wallMs: 3000 });
      const r = await H.runtime.fetch(ref, req("POST", "/eval", {
        code: `for (const C of [Map, Set, WeakMap]) C.prototype.delete = C.prototype.get = function () { for (;;) {} };
               setTimeout(() => {}, 60000); return 1;`,
      }));
      expect(json(r).result).toBe(1);
      const by = H.ref("interleave-bystander", await bundle(BYSTANDER));
      const t0 = performance.now();
      expect((await H.runtime.fetch(by, req("POST", "/", { n: 1 }))).status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(2000);
      const again = await H.runtime.fetch(ref, req("POST", "/eval", { code: "return 2;" })).catch((e) => e as Error);
      // The agent broke its own instance: its next call may fail (dropped, or its own patched builtins loop); then it reloads.
      if (again instanceof Error) expect(["crashed", "cpu_timeout"]).toContain(failureReasonOf(again) ?? "");
      expect(json(await H.runtime.fetch(ref, req("POST", "/eval", { code: "return 3;" }))).result).toBe(3);
    }, 30000);
  });
}

const failureReasonOf = (e: Error) => (e as unknown as { details?: { reason?: string } }).details?.reason;
