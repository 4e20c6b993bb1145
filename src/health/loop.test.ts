/** Background loops survive sync throws and async rejections, never overlap, and stop cleanly. */
import { expect, test } from "bun:test";
import { HealthCounters } from "./counters";
import { startLoop } from "./loop";

const setup = () => {
  const lines: unknown[] = [];
  return { counters: new HealthCounters(), logger: { error: (msg: string, fields?: Record<string, unknown>) => lines.push({ msg, ...fields }) }, lines };
};

test("a run that throws synchronously or rejects is logged and counted; the loop keeps running", async () => {
  const deps = setup();
  let n = 0;
  const loop = startLoop("flaky", 5, () => {
    n++;
    if (n === 1) throw new Error("sync boom");
    if (n === 2) return Promise.reject(new Error("async boom"));
  }, deps);
  await Bun.sleep(100);
  await loop.stop();
  expect(n).toBeGreaterThan(3);
  expect(deps.counters.failuresOf("flaky")).toBe(2);
  expect(deps.lines).toEqual([
    expect.objectContaining({ msg: "background loop failed", loop: "flaky", error: expect.stringContaining("sync boom") }),
    expect.objectContaining({ msg: "background loop failed", loop: "flaky", error: expect.stringContaining("async boom") }),
  ]);
});

test("runNow during a timer run that skips its work runs the body as \"now\" after it (a cluster chore another node did)", async () => {
  const deps = setup();
  const triggers: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const loop = startLoop("chore", 5, async (trigger) => {
    triggers.push(trigger);
    if (trigger === "timer") await gate; // the timer run finds another node did it and does nothing
  }, deps);
  while (triggers.length === 0) await Bun.sleep(1);
  const a = loop.runNow();
  const b = loop.runNow();
  expect(a).toBe(b);
  release();
  await a;
  expect(triggers.slice(0, 2)).toEqual(["timer", "now"]);
  await loop.stop();
});

test("runs never overlap; runNow joins the run in progress; stop waits for it", async () => {
  const deps = setup();
  let active = 0;
  let most = 0;
  let done = 0;
  const loop = startLoop("slow", 2, async () => {
    most = Math.max(most, ++active);
    await Bun.sleep(30);
    active--;
    done++;
  }, deps);
  await Bun.sleep(10);
  const a = loop.runNow();
  const b = loop.runNow();
  expect(a).toBe(b);
  await loop.stop();
  const after = done;
  expect(active).toBe(0);
  await Bun.sleep(20);
  expect(done).toBe(after);
  expect(most).toBe(1);
});
