/**
 * The cached series (series.ts) write the exposition plain prom-client writes for the same
 * records, across resets and odd values, and Metrics keeps a bounded number of them.
 */
import { expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { CounterSeries, HistogramSeries } from "./series";
import { Metrics, SERIES_CACHE_LIMIT } from "./index";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function pair() {
  const make = () => {
    const registry = new Registry();
    return {
      registry,
      count: new Counter({ name: "t_requests_total", help: "h", labelNames: ["family", "status"], registers: [registry] }),
      duration: new Histogram({ name: "t_duration_seconds", help: "h", labelNames: ["agent", "outcome"], buckets: BUCKETS, registers: [registry] }),
    };
  };
  return { plain: make(), cached: make() };
}

test("counter and histogram series write exactly what prom-client's own inc/observe write", async () => {
  const { plain, cached } = pair();
  const counters = new Map<string, CounterSeries>();
  const histograms = new Map<string, HistogramSeries>();
  // Bounds exactly, between them, past the last one, zero, negative, tiny and huge values.
  const values = [...BUCKETS, ...BUCKETS.map((b) => b * 1.5), 0, -1, 1e-9, 31, 1e6, 0.0003, 7];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const record = (n: number) => {
    for (let i = 0; i < n; i++) {
      const family = ["invoke", "apps", "v1"][Math.floor(rand() * 3)]!;
      const status = String([200, 404, 500][Math.floor(rand() * 3)]);
      const agent = `a${Math.floor(rand() * 4)}`;
      const outcome = rand() < 0.8 ? "ok" : "bad_response";
      const v = values[Math.floor(rand() * values.length)]!;
      plain.count.inc({ family, status });
      plain.duration.observe({ agent, outcome }, v);
      const ck = `${family}|${status}`;
      if (!counters.has(ck)) counters.set(ck, new CounterSeries(cached.count, { family, status }));
      counters.get(ck)!.inc();
      const hk = `${agent}|${outcome}`;
      if (!histograms.has(hk)) histograms.set(hk, new HistogramSeries(cached.duration, { agent, outcome }));
      histograms.get(hk)!.observe(v);
    }
  };
  // prom-client's own (hashing) path runs once per series, not once per record.
  let slow = 0;
  const { inc } = cached.count;
  const { observe } = cached.duration;
  cached.count.inc = ((...a: Parameters<typeof inc>) => (slow++, inc.apply(cached.count, a))) as typeof inc;
  cached.duration.observe = ((...a: Parameters<typeof observe>) => (slow++, observe.apply(cached.duration, a))) as typeof observe;
  record(2000);
  expect(slow).toBe(counters.size + histograms.size);
  const first = await plain.registry.metrics();
  expect(await cached.registry.metrics()).toBe(first);
  expect(first).toContain('t_duration_seconds_bucket{le="+Inf",agent="a1",outcome="ok"}');
  // A reset (Registry.resetMetrics) starts the series over; the cached ones follow.
  plain.registry.resetMetrics();
  cached.registry.resetMetrics();
  record(500);
  expect(await cached.registry.metrics()).toBe(await plain.registry.metrics());
  // A value that is not a number fails as prom-client fails it, and records nothing.
  const h = histograms.values().next().value!;
  expect(() => h.observe(Number.NaN)).toThrow(TypeError);
  expect(() => plain.duration.observe({ agent: "a0", outcome: "ok" }, Number.NaN)).toThrow(TypeError);
  expect(await cached.registry.metrics()).toBe(await plain.registry.metrics());
});

test("Metrics keeps at most SERIES_CACHE_LIMIT cached series per map, and past it still counts every call", async () => {
  const m = new Metrics({}, { processMetrics: false, agentLabelLimit: 3 });
  for (let i = 0; i < SERIES_CACHE_LIMIT + 50; i++) m.invocation(`agent_${i}`, () => `slug${i}`, "invoke", "ok", 0.002);
  for (let i = 0; i < 100; i++) m.http("/v1/invoke/x", 200, 0.001);
  expect(m.cachedSeries).toEqual({ http: 1, invoke: SERIES_CACHE_LIMIT });
  const text = (await m.scrape()).body;
  expect(text).toContain(`cantrip_invoke_duration_seconds_count{agent="other",source="invoke",outcome="ok"} ${SERIES_CACHE_LIMIT + 50 - 3}`);
  expect(text).toContain(`cantrip_invoke_duration_seconds_count{agent="slug0",source="invoke",outcome="ok"} 1`);
  expect(text).toContain(`cantrip_http_requests_total{family="invoke",status="200"} 100`);
  expect(text).toContain(`cantrip_http_request_duration_seconds_bucket{le="0.001",family="invoke"} 100`);
});
