import { expect, test } from "bun:test";
import { callEnded, callStarted, callsInFlight, whenIdle } from "./idle";

test("background work waits while a call is in flight and runs once the worker is idle", async () => {
  const ran: string[] = [];
  callStarted();
  whenIdle(() => ran.push("refill"));
  await Bun.sleep(40);
  expect(ran).toEqual([]); // a call in flight: nothing runs, however long it takes
  callStarted();
  callEnded();
  await Bun.sleep(40);
  expect(ran).toEqual([]); // still one call in flight
  callEnded();
  expect(callsInFlight()).toBe(0);
  for (let i = 0; i < 50 && ran.length === 0; i++) await Bun.sleep(10);
  expect(ran).toEqual(["refill"]);
});

test("a task with a deadline runs at it even on a busy worker; tasks without one keep waiting", async () => {
  const ran: string[] = [];
  callStarted();
  whenIdle(() => ran.push("refill"));
  whenIdle(() => ran.push("gc"), 30);
  for (let i = 0; i < 50 && ran.length === 0; i++) await Bun.sleep(10);
  expect(ran).toEqual(["gc"]);
  callEnded();
  for (let i = 0; i < 50 && ran.length === 1; i++) await Bun.sleep(10);
  expect(ran).toEqual(["gc", "refill"]);
});
