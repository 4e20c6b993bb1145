/**
 * Resident memory of another process, read from /proc/<pid>/status (Linux), and a sampler
 * that records it on a fixed interval. The trend helper answers "does memory keep growing
 * after warm-up": it compares the median of the last third of the samples to the median of
 * the second third (the first third is warm-up), as a percentage.
 */
import { readFileSync } from "node:fs";
import { median } from "./load";

/** RSS in bytes, or NaN when the process is gone or /proc is unavailable. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface RssSampler {
  samples: number[];
  stop(): number[];
}

export function sampleRss(pid: number, everyMs = 1000): RssSampler {
  const samples: number[] = [];
  const take = () => {
    const v = rssBytes(pid);
    if (Number.isFinite(v)) samples.push(v);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export interface RssTrend {
  samples: number;
  secondThirdMedian: number;
  lastThirdMedian: number;
  /** (last − second) / second, in percent; positive means growth. */
  growthPct: number;
  maxBytes: number;
}

export function rssTrend(samples: number[]): RssTrend {
  const n = samples.length;
  const third = Math.floor(n / 3);
  const second = samples.slice(third, 2 * third);
  const last = samples.slice(2 * third);
  const a = second.length ? median(second) : NaN;
  const b = last.length ? median(last) : NaN;
  return { samples: n, secondThirdMedian: a, lastThirdMedian: b, growthPct: ((b - a) / a) * 100, maxBytes: Math.max(...samples) };
}

export const mb = (bytes: number) => bytes / (1024 * 1024);
