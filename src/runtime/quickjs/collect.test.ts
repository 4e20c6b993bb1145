/**
 * When a sandbox worker collects dropped interpreters' memory (collect.ts): a little waits for
 * a long idle spell (a load-check's interpreter, dropped every few ms in back-to-back deploys,
 * must not put a 2–9 ms collection in front of the next check), a lot goes back as soon as the
 * worker is idle, and neither waits past its deadline. Real timers, real idle.ts.
 */
import { afterEach, expect, test } from "bun:test";
import { DROPPED_BYTES_URGENT, DroppedMemory, LAZY_IDLE_MS, LAZY_MAX_DELAY_MS, URGENT_MAX_DELAY_MS } from "./collect";
import { callEnded, callStarted } from "./idle";

const MiB = 1024 * 1024;
let busy = 0;
afterEach(() => {
  while (busy > 0) (callEnded(), busy--);
});

/** A DroppedMemory whose collections are recorded (ms after it was made); `busy`: a call is in flight on the worker throughout. */
function collector(opts: { busy?: boolean } = {}) {
  if (opts.busy) (callStarted(), busy++);
  const at: number[] = [];
  const t0 = performance.now();
  const d = new DroppedMemory(() => at.push(performance.now() - t0));
  return { d, at };
}

test("a few small drops are collected once, after a long idle spell, not 5 ms after each", async () => {
  const { d, at } = collector();
  d.dropped(2 * MiB);
  await Bun.sleep(20);
  d.dropped(1 * MiB);
  await Bun.sleep(100);
  expect(at).toEqual([]); // idle for 100 ms: still waiting for a longer spell
  expect(d.bytes).toBe(3 * MiB);
  await Bun.sleep(LAZY_IDLE_MS + 200);
  expect(at.length).toBe(1);
  expect(at[0]!).toBeGreaterThanOrEqual(LAZY_IDLE_MS);
  expect(d.bytes).toBe(0);
});

test("small drops on a worker that never goes idle are collected by the lazy deadline", async () => {
  const { d, at } = collector({ busy: true });
  d.dropped(MiB);
  await Bun.sleep(LAZY_MAX_DELAY_MS / 2);
  expect(at).toEqual([]);
  await Bun.sleep(LAZY_MAX_DELAY_MS / 2 + 300);
  expect(at.length).toBe(1);
});

test("16 MiB dropped in all is collected as soon as the worker is idle, even with a lazy collection queued", async () => {
  const { d, at } = collector();
  d.dropped(MiB); // queues a lazy one
  d.dropped(DROPPED_BYTES_URGENT); // now urgent
  await Bun.sleep(60);
  expect(at.length).toBe(1);
  expect(at[0]!).toBeLessThan(LAZY_IDLE_MS);
  // The lazy turn later finds nothing left to collect.
  await Bun.sleep(LAZY_IDLE_MS + 100);
  expect(at.length).toBe(1);
});

test("an urgent collection on a busy worker waits at most its deadline", async () => {
  const { d, at } = collector({ busy: true });
  d.dropped(DROPPED_BYTES_URGENT);
  await Bun.sleep(URGENT_MAX_DELAY_MS + 100);
  expect(at.length).toBe(1);
});
