/**
 * Contract: every limit, against the real engine. Each runaway must end in a typed
 * platform error (or a normal backend error where the guest can handle it), and afterwards
 * the host answers, the offending agent serves again, and a bystander agent is unaffected.
 */
import { describe, expect, test } from "bun:test";
import { bundle, failureOf, json, req, text, type Harness } from "../harness";
import { BYSTANDER, EVAL } from "./fixtures";
import type { Limits } from "../../../src/runtime";
import { ZOMBIES_PER_AGENT } from "../../../src/runtime/runtime";

/** Where an engine legitimately behaves differently (not a weaker limit). */
export interface EngineTraits {
  /** V8's JSON.parse is iterative: 100k nesting levels parse fine (contained), where QuickJS overflows its stack. */
  iterativeJsonParse?: boolean;
}

export function limitTests(h: () => Harness, traits: EngineTraits = {}) {
  let evalCode = "";
  let bystanderCode = "";
  let n = 0;
  const evalRef = async (H: Harness, limits: Partial<Limits> = {}) => {
    evalCode ||= await bundle(EVAL);
    return H.ref("culprit", evalCode, { limits, bundleId: `culprit-${++n}` });
  };
  const run = async (H: Harness, code: string, limits: Partial<Limits> = {}) => H.runtime.fetch(await evalRef(H, limits), req("POST", "/eval", { code }));

  /**
   * The host still answers, the culprit agent reloads and serves, and the bystander is fine.
   * Every test here uses one culprit agent, and a killed worker's thread can run on for
   * seconds (at nice 19, until its guest's native call reaches an interrupt poll): at
   * ZOMBIES_PER_AGENT such threads the runtime refuses the agent's next call (429, "retry
   * shortly") by design, so the culprit is called once its threads are below that bound.
   */
  const healthy = async (H: Harness) => {
    for (let i = 0; i < 300 && H.runtime.stats().zombieThreads >= ZOMBIES_PER_AGENT; i++) await Bun.sleep(50);
    bystanderCode ||= await bundle(BYSTANDER);
    const by = H.ref("bystander", bystanderCode, { bundleId: "bystander-v1" });
    const before = (H.db.sqlite.query("SELECT value FROM kv WHERE agent_id = 'bystander' AND key = 'total'").get() as { value: string } | null)?.value ?? "0";
    const r = await H.runtime.fetch(by, req("POST", "/", { n: 21 }));
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ double: 42, total: Number(before) + 21 });
    const ok = await H.runtime.fetch(await evalRef(H), req("GET", "/ok"));
    expect(json(ok)).toEqual({ ok: true });
  };

  const expectFailure = async (H: Harness, code: string, limits: Partial<Limits>, want: { code: string; reason: string | string[] }) => {
    await healthy(H);
    const f = await failureOf(() => run(H, code, limits));
    expect(f.code).toBe(want.code);
    expect(Array.isArray(want.reason) ? want.reason : [want.reason]).toContain(f.reason);
    await healthy(H);
    return f;
  };

  const cpu = { code: "endpoint_timeout", reason: "cpu_timeout" };
  const mem = { code: "endpoint_unreachable", reason: "memory_limit" };

  describe("CPU and wall-clock deadlines", () => {
    test("infinite loop", async () => {
      const f = await expectFailure(h(), "for (;;) {}", { cpuMs: 200 }, cpu);
      expect(f.ms).toBeLessThan(200 + 300);
    }, 30000);
    test("loop inside a promise job", async () => {
      await expectFailure(h(), "await null; await Promise.resolve().then(() => { for (;;) {} });", { cpuMs: 200 }, cpu);
    }, 30000);
    test("native builtin loop over a 1M-element array is stopped near the deadline", async () => {
      const f = await expectFailure(h(), "const a = new Array(1e6).fill(1); for (;;) a.indexOf(2);", { cpuMs: 300 }, cpu);
      expect(f.ms).toBeLessThan(300 + 400);
    }, 30000);
    test("catastrophic regex backtracking", async () => {
      await expectFailure(h(), `return /^(a+)+$/.test("a".repeat(40) + "b");`, { cpuMs: 200 }, cpu);
    }, 30000);
    test("try/catch cannot swallow the interrupt", async () => {
      await expectFailure(h(), "for (;;) { try { for (;;) {} } catch (e) {} finally { } }", { cpuMs: 200 }, cpu);
    }, 30000);
    test("wall-clock deadline covers awaited timers; awaiting does not count as CPU", async () => {
      const H = h();
      const f = await expectFailure(H, "await new Promise((r) => setTimeout(r, 60000));", { wallMs: 300 }, { code: "endpoint_timeout", reason: "wall_timeout" });
      expect(f.ms).toBeLessThan(300 + 400);
      const r = await run(H, "await new Promise((r) => setTimeout(r, 250)); return 1;", { cpuMs: 100 });
      expect(json(r).result).toBe(1);
      expect(r.cpuMs).toBeLessThan(100);
    }, 30000);
  });

  describe("memory", () => {
    const limits = { memoryBytes: 32 * 1024 * 1024 };
    test("string doubling", async () => {
      // substring() flattens the rope QuickJS builds for s + s, so memory is really used.
      await expectFailure(h(), `let s = "x"; for (;;) s = (s + s).substring(1) + "y";`, limits, mem);
    }, 30000);
    test("array of strings", async () => {
      await expectFailure(h(), `const a = []; for (let i = 0; ; i++) a.push("item-" + i + "-".repeat(64));`, { ...limits, cpuMs: 5000 }, mem);
    }, 30000);
    test("object graph", async () => {
      await expectFailure(h(), `let head = null; for (;;) head = { next: head, a: [1, 2, 3], o: { x: head } };`, { ...limits, cpuMs: 5000 }, mem);
    }, 30000);
    test("huge ArrayBuffer", async () => {
      const H = h();
      await healthy(H);
      const r = await run(H, `const b = new ArrayBuffer(1024 * 1024 * 1024); return b.byteLength;`, limits).catch((e) => e);
      // Either the allocation fails inside the guest (a RangeError it may see) or the instance is dropped.
      if (r instanceof Error) expect((r as unknown as { details: { reason: string } }).details.reason).toBe("memory_limit");
      else expect(r.status).toBe(500);
      await expectFailure(H, `const keep = []; for (;;) keep.push(new ArrayBuffer(4 * 1024 * 1024));`, limits, mem);
    }, 30000);
    test("deep recursion is a catchable guest error, not a host crash", async () => {
      const H = h();
      const r = await run(H, `function f(n) { return f(n + 1) + 1; } return f(0);`);
      expect(r.status).toBe(500);
      expect(text(r)).toMatch(/stack/i);
      await healthy(H);
    }, 30000);
    test("deeply nested JSON (100k levels): request body rejected; guest parse/stringify contained", async () => {
      const H = h();
      const deep = "[".repeat(100_000) + "]".repeat(100_000);
      const r = await H.runtime.fetch(await evalRef(H), req("POST", "/eval", deep));
      expect(r.status).toBe(400);
      expect(json(r).error.code).toBe("invalid_json");
      for (const code of [`JSON.parse("[".repeat(100000) + "]".repeat(100000)); return 1;`, `let o = {}; for (let i = 0; i < 100000; i++) o = { o }; return JSON.stringify(o).length;`]) {
        const out = await run(H, code).catch((e) => e);
        if (out instanceof Error) expect(["crashed", "memory_limit", "cpu_timeout"]).toContain((out as unknown as { details: { reason: string } }).details.reason);
        else expect(out.status).toBe(traits.iterativeJsonParse && code.startsWith("JSON.parse") ? 200 : 500);
        await healthy(H);
      }
    }, 30000);
  });

  describe("output limits", () => {
    test("huge response", async () => {
      await expectFailure(h(), `return "x".repeat(2 * 1024 * 1024);`, { responseBytes: 1024 * 1024, cpuMs: 3000 }, { code: "bad_response", reason: "bad_response" });
    }, 30000);
    test("log flood is capped per call", async () => {
      const H = h();
      const r = await run(H, `for (let i = 0; i < 5000; i++) console.log("line", i, "x".repeat(100)); return 1;`, { logLines: 50, cpuMs: 2000 });
      expect(json(r).result).toBe(1);
      expect(r.logs.length).toBe(51);
      expect(r.logs[50]!.message).toContain("log limit reached");
      await healthy(H);
    }, 30000);
    test("timer flood is bounded", async () => {
      const H = h();
      const r = await run(H, `let n = 0; try { for (;;) { setTimeout(() => {}, 10000); n++; } } catch (e) { return [n, e.message]; }`, { cpuMs: 2000 });
      expect(json(r).result).toEqual([1000, "setTimeout: too many pending timers (limit 1000)"]);
      expect(r.wallMs).toBeLessThan(1000);
      await healthy(H);
    }, 30000);
    test("the agent's timers limit is the one host.timer enforces; cleared timers free their slot", async () => {
      const H = h();
      const code = `const a = []; for (let i = 0; i < 3; i++) a.push(setTimeout(() => {}, 10000)); let full = ""; try { setTimeout(() => {}, 1); } catch (e) { full = e.message; } clearTimeout(a[0]); setTimeout(() => {}, 10000); return full;`;
      const r = await run(H, code, { timers: 3 });
      expect(json(r).result).toBe("setTimeout: too many pending timers (limit 3)");
      await healthy(H);
    }, 30000);
  });
}
