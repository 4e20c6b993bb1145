/**
 * The bounded CI form of bench/soak.ts: cantrip as its own process, a few agents under
 * sustained invoke traffic with a deploy of a new version and a rollback in the middle.
 * Fails on any 5xx or network error, on a 2xx response without its invocation-log row, on
 * an answer from the wrong version after a switch, or on RSS still growing after warm-up
 * (last third's median vs the second third's, over a threshold generous enough for a short
 * run on a shared 2-core box). Knobs: SOAK_SECONDS, SOAK_AGENTS, SOAK_CONNECTIONS, SOAK_RSS_MAX_GROWTH_PCT.
 */
import { expect, test } from "bun:test";
import { mb } from "../../bench/lib/rss";
import { runSoak } from "../../bench/lib/soak-run";

const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const seconds = num("SOAK_SECONDS", 8);
const agents = num("SOAK_AGENTS", 5);
const connections = num("SOAK_CONNECTIONS", 20);
const maxGrowthPct = num("SOAK_RSS_MAX_GROWTH_PCT", 25);

test(`soak: ${seconds} s, ${agents} agents, ${connections} connections, deploy + rollback mid-run`, async () => {
  const r = await runSoak({ seconds, agents, connections });
  const { load, invocationLog: il, switchover: sw, rss } = r;
  console.log(
    `[soak] ${load.requests} requests, ${load.rps.toFixed(0)} req/s, p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms; ` +
      `2xx ${load.ok}, 4xx ${load.c4xx}, 5xx ${load.c5xx}, net ${load.netErrors}; log rows matched ${il.matched}/${il.okResponses}; ` +
      `deploy ${sw.deployMs.toFixed(0)} ms, rollback ${sw.rollbackMs.toFixed(1)} ms; rss ${mb(rss.secondThirdMedian).toFixed(1)} → ${mb(rss.lastThirdMedian).toFixed(1)} MB (${rss.growthPct.toFixed(1)}%)`,
  );
  expect(sw.errors).toEqual([]);
  expect(load.failures).toEqual([]);
  expect(load.c5xx).toBe(0);
  expect(load.netErrors).toBe(0);
  expect(load.ok).toBeGreaterThan(seconds * 10);
  expect(il.missing).toBe(0);
  expect(il.matched).toBe(load.ok);
  expect(sw.v2Answers).toBeGreaterThan(0);
  expect(sw.v1AfterRollback).toBeGreaterThan(0);
  expect(sw.wrongVersion).toBe(0);
  expect(rss.samples).toBeGreaterThanOrEqual(seconds - 1);
  expect(rss.growthPct).toBeLessThan(maxGrowthPct);
}, (seconds + 45) * 1000);
