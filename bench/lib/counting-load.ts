/**
 * An in-repo load generator that counts every response exactly, for reliability runs where
 * "how many 2xx did the client see" must be compared with what the server recorded. N
 * keep-alive connections (fetch workers) spread requests round-robin over several targets
 * (loopback only), each request carrying its own `x-request-id` so the server's invocation
 * log can be matched one to one. Bounded by time and, optionally, by a request count or an
 * abort signal; a network error backs off briefly so a dead server is not spun against.
 */
import { assertLoopback, median } from "./load";

export interface LoadTarget {
  name: string;
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface Sent {
  target: LoadTarget;
  requestId: string;
  status: number;
  text: string;
  /** performance.now() when the request was sent and when its body was fully read. */
  startedAt: number;
  endedAt: number;
}

export interface TargetCounts {
  ok: number;
  c4xx: number;
  c5xx: number;
  netErrors: number;
}

export interface CountingResult {
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  c4xx: number;
  c5xx: number;
  netErrors: number;
  byTarget: Record<string, TargetCounts>;
  /** Request ids of 2xx responses with the time their response completed (performance.now()). */
  okIds: { id: string; endedAt: number }[];
  /** Up to 20 non-2xx responses, for the report. */
  failures: { target: string; status: number; text: string }[];
}

export interface CountingSpec {
  targets: LoadTarget[];
  connections: number;
  seconds: number;
  maxRequests?: number;
  signal?: AbortSignal;
  /** Prefix of the x-request-id values (unique per run). */
  idPrefix?: string;
  /** Sees every completed response (e.g. to check which version answered). */
  inspect?: (s: Sent) => void;
}

export async function runCountingLoad(spec: CountingSpec): Promise<CountingResult> {
  if (!spec.targets.length) throw new Error("runCountingLoad: no targets");
  for (const t of spec.targets) assertLoopback(t.url);
  const prefix = spec.idPrefix ?? `load-${Date.now().toString(36)}`;
  const byTarget: Record<string, TargetCounts> = {};
  for (const t of spec.targets) byTarget[t.name] = { ok: 0, c4xx: 0, c5xx: 0, netErrors: 0 };
  const lat: number[] = [];
  const okIds: { id: string; endedAt: number }[] = [];
  const failures: CountingResult["failures"] = [];
  let seq = 0;
  const started = performance.now();
  const end = started + spec.seconds * 1000;
  const more = () => performance.now() < end && !spec.signal?.aborted && (spec.maxRequests === undefined || seq < spec.maxRequests);

  const worker = async (w: number) => {
    let i = w;
    while (more()) {
      const target = spec.targets[i++ % spec.targets.length]!;
      const requestId = `${prefix}-${seq++}`;
      const counts = byTarget[target.name]!;
      const t0 = performance.now();
      try {
        const r = await fetch(target.url, { method: "POST", body: target.body, headers: { ...target.headers, "x-request-id": requestId } });
        const text = await r.text();
        const t1 = performance.now();
        lat.push(t1 - t0);
        if (r.status >= 200 && r.status < 300) {
          counts.ok++;
          okIds.push({ id: requestId, endedAt: t1 });
        } else {
          if (r.status >= 500) counts.c5xx++;
          else counts.c4xx++;
          if (failures.length < 20) failures.push({ target: target.name, status: r.status, text: text.slice(0, 300) });
        }
        spec.inspect?.({ target, requestId, status: r.status, text, startedAt: t0, endedAt: t1 });
      } catch {
        counts.netErrors++;
        await Bun.sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  const sum = (k: keyof TargetCounts) => Object.values(byTarget).reduce((n, c) => n + c[k], 0);
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
  return {
    seconds,
    requests: lat.length,
    rps: lat.length / seconds,
    p50: lat.length ? median(lat) : NaN,
    p99: pct(99),
    ok: sum("ok"),
    c4xx: sum("c4xx"),
    c5xx: sum("c5xx"),
    netErrors: sum("netErrors"),
    byTarget,
    okIds,
    failures,
  };
}
