import { expect, test } from "bun:test";
import { LaneSlots, type LaneSlot } from "./lane-slots";
import type { Lane } from "./lanes";

const fakeSpawns = () => {
  const made: Lane[] = [];
  const spawn = (lane: Lane): LaneSlot => {
    made.push(lane);
    return { lane, instances: new Set(), pending: new Map() };
  };
  return { made, spawn };
};

test("without defer, every lane's workers start with the slots", () => {
  const { made, spawn } = fakeSpawns();
  new LaneSlots(8, spawn);
  expect(made).toEqual(["light", "light", "light", "light", "light", "light", "heavy", "heavy"]);
});

test("a deferred heavy lane starts on startDeferred(), once", () => {
  const { made, spawn } = fakeSpawns();
  const slots = new LaneSlots(8, spawn, ["heavy"]);
  expect(made.filter((l) => l === "heavy")).toHaveLength(0);
  slots.startDeferred();
  slots.startDeferred();
  expect(made.filter((l) => l === "heavy")).toHaveLength(2);
  expect(slots.slots).toHaveLength(8);
});

test("a heavy call before startDeferred() starts one heavy worker; startDeferred() adds only the rest", () => {
  const { made, spawn } = fakeSpawns();
  const slots = new LaneSlots(8, spawn, ["heavy"]);
  expect(slots.pick("heavy").lane).toBe("heavy");
  expect(made.filter((l) => l === "heavy")).toHaveLength(1);
  slots.startDeferred();
  expect(made.filter((l) => l === "heavy")).toHaveLength(2);
});
