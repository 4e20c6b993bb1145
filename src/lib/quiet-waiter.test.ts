import { expect, test } from "bun:test";
import { QuietWaiter } from "./quiet-waiter";

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

test("quiet() resolves at once with no call in flight", async () => {
  expect(await settled(new QuietWaiter().quiet())).toBe(true);
});

test("quiet() waits for the calls in flight to end, every waiter wakes", async () => {
  const w = new QuietWaiter(10_000);
  w.begin();
  w.begin();
  const a = w.quiet();
  const b = w.quiet();
  expect(await settled(a)).toBe(false);
  w.end();
  expect(await settled(a)).toBe(false);
  w.end();
  expect(await settled(a)).toBe(true);
  expect(await settled(b)).toBe(true);
});

test("quiet() gives up waiting after maxWaitMs when calls keep running", async () => {
  const w = new QuietWaiter(30);
  w.begin();
  const t0 = performance.now();
  await w.quiet();
  expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
});
