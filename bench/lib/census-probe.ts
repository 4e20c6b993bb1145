/**
 * Preloaded into a cantrip process by bench/allocations.ts (`BUN_OPTIONS=--preload …`): an
 * object census of the main thread's JavaScript heap. On SIGUSR1 it runs a full collection and
 * takes JavaScriptCore's count of cells by type (`bun:jsc` heapStats().objectTypeCounts); on
 * SIGUSR2 it counts again, without collecting, and writes the difference as JSON to
 * `$CANTRIP_CENSUS_OUT`. Between the two, JavaScriptCore's counts include every cell allocated
 * since the collection (unswept cells count as live until the next one), so with no
 * collection in between the difference is what was allocated; `collected` says whether one
 * happened (a WeakRef to an object made at the first count, reachable from nothing else, is
 * empty after any collection). Benchmark tooling only.
 */
import { heapStats } from "bun:jsc";
import { renameSync, writeFileSync } from "node:fs";

const out = process.env.CANTRIP_CENSUS_OUT;
let before: Record<string, number> = {};
let sentinel = new WeakRef({});

process.on("SIGUSR1", () => {
  Bun.gc(true);
  sentinel = new WeakRef({});
  before = { ...heapStats().objectTypeCounts };
  if (out) writeFileSync(`${out}.ready`, "");
});

process.on("SIGUSR2", () => {
  const now = heapStats().objectTypeCounts;
  const diff: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(now)])) {
    const d = (now[k] ?? 0) - (before[k] ?? 0);
    if (d > 0) diff[k] = d;
  }
  if (out) {
    // Whole or not at all: the bench reads the file as soon as it exists.
    writeFileSync(`${out}.tmp`, JSON.stringify({ diff, collected: sentinel.deref() === undefined }));
    renameSync(`${out}.tmp`, out);
  }
});
