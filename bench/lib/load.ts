/**
 * Load generation for benchmarks, loopback only and bounded in time: wrk when installed
 * (C, cheap on a shared 2-core box), otherwise an in-repo generator with N keep-alive
 * connections. Returns requests/s and latency percentiles in milliseconds.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadResult {
  tool: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
}

export interface LoadSpec {
  url: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  threads?: number;
  /**
   * More servers to spread the load over (loopback URLs with the same path): wrk's threads
   * (at least one per server) and the internal generator's connections go round-robin over
   * `url` and these. Every request still carries `url`'s Host header.
   */
  alsoUrls?: string[];
}

export function assertLoopback(url: string) {
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(host)) throw new Error(`refusing to load-test a non-loopback host: ${host}`);
}

function hasWrk(): boolean {
  return spawnSync("wrk", ["--version"]).error === undefined;
}

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  assertLoopback(spec.url);
  for (const u of spec.alsoUrls ?? []) assertLoopback(u);
  if (hasWrk() && process.env.CANTRIP_BENCH_LOADGEN !== "internal") return runWrk(spec);
  return runInternal(spec);
}

function runWrk(spec: LoadSpec): LoadResult {
  const dir = mkdtempSync(join(tmpdir(), "wrk-"));
  const script = join(dir, "req.lua");
  const headers = Object.entries(spec.headers ?? {})
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join("\n");
  const targets = [spec.url, ...(spec.alsoUrls ?? [])].map((u) => new URL(u));
  const threads = Math.max(spec.threads ?? 2, targets.length);
  // One server: wrk's own address. Several: each thread is pointed at the next one in setup().
  const spread =
    targets.length < 2
      ? ""
      : `local targets = { ${targets.map((t) => `{ ${JSON.stringify(t.hostname)}, ${JSON.stringify(t.port)} }`).join(", ")} }\nlocal nth = 0\n` +
        `setup = function(thread)\n  local t = targets[(nth % #targets) + 1]\n  nth = nth + 1\n  thread.addr = wrk.lookup(t[1], t[2])[1]\nend\n`;
  writeFileSync(
    script,
    spread +
    `wrk.method = ${JSON.stringify(spec.method ?? "GET")}\n${spec.body !== undefined ? `wrk.body = ${JSON.stringify(spec.body)}\n` : ""}${headers}\n` +
      `done = function(summary, latency, requests)\n  io.write(string.format("JSON %d %d %d %d %d %d\\n", summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(99), summary.duration))\nend\n`,
  );
  const r = spawnSync("wrk", ["-t", String(threads), "-c", String(spec.connections), "-d", `${spec.seconds}s`, "--timeout", "5s", "-s", script, spec.url], { encoding: "utf8" });
  const line = /JSON (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(r.stdout);
  if (!line) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const [requests, errors, non2xx, p50us, p99us, durUs] = line.slice(1).map(Number) as [number, number, number, number, number, number];
  return { tool: "wrk", rps: requests / (durUs / 1e6), p50: p50us / 1000, p99: p99us / 1000, requests, errors, non2xx };
}

async function runInternal(spec: LoadSpec): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const end = performance.now() + spec.seconds * 1000;
  const started = performance.now();
  const urls = [spec.url, ...(spec.alsoUrls ?? [])];
  const worker = async (_: unknown, n: number) => {
    const url = urls[n % urls.length]!;
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = await fetch(url, { method: spec.method ?? "GET", body: spec.body, headers: spec.headers });
        await r.arrayBuffer();
        if (r.status >= 300) non2xx++;
        lat.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const dur = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
  return { tool: "internal", rps: lat.length / dur, p50: pct(50), p99: pct(99), requests: lat.length, errors, non2xx };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");

/**
 * Throughput of `a` over `b` per pair of rounds (rounds 0–1, 2–3, …), as the geometric mean of
 * the pair's two ratios: for benches whose two sides take turns going first, so that an order
 * effect (on the 2-vCPU VMs measured here, the side measured second in a round did worse in
 * A/A runs) cancels within each pair. Empty with fewer than two rounds.
 */
export function pairedRatios(a: LoadResult[], b: LoadResult[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < a.length && i + 1 < b.length; i += 2) out.push(Math.sqrt((a[i]!.rps / b[i]!.rps) * (a[i + 1]!.rps / b[i + 1]!.rps)));
  return out;
}

/** pairedRatios as a line: "1.02x 0.97x (median 1.00x)", or why there is none. */
export function pairedRatiosText(a: LoadResult[], b: LoadResult[]): string {
  const ratios = pairedRatios(a, b);
  return ratios.length ? `${ratios.map((x) => fmt(x, 2) + "x").join(" ")} (median ${fmt(median(ratios), 2)}x)` : "needs 2 rounds";
}
export { ms as parseDuration };
