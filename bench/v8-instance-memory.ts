/**
 * V8 engine: host memory per warm instance, this checkout's guest prelude against another
 * one (default: the prelude of git `main`), in the same run with the same sidecar code.
 * Measured as bench/sandbox.ts does: RSS of this process and its sidecars, before and after
 * 100 new agents each loaded and called once (a trivial defineBackend route), divided by
 * 100; three rounds alternating the two preludes, medians printed with their ratio.
 * Target (issue 14): ≤ 2 MB per warm instance.
 *
 *   bun bench/v8-instance-memory.ts [git-ref-or-path-to-prelude.gen.ts]
 */
import { createRuntime, defaultLimits, probeV8, v8Engine, type BundleRef, type KvStore } from "../src/runtime";
import type { V8Prelude } from "../src/runtime/v8/sidecar-slot";
import { PRELUDE_MAIN, PRELUDE_SOURCES } from "../sandbox/dist/prelude.gen";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const probe = probeV8();
if (!probe.ok) {
  console.log(`v8 engine not available: ${probe.error}`);
  process.exit(0);
}

/** The other prelude: a prelude.gen.ts file, or the one at a git ref. Older ones (one script, or parts with eager sources) run whole. */
async function otherPrelude(arg: string): Promise<V8Prelude> {
  let file = arg;
  let dir: string | null = null;
  if (!existsSync(arg)) {
    const text = Bun.spawnSync(["git", "show", `${arg}:sandbox/dist/prelude.gen.ts`], { cwd: join(import.meta.dir, "..") });
    if (text.exitCode !== 0) throw new Error(`cannot read the prelude at ${arg}: ${text.stderr.toString()}`);
    dir = mkdtempSync(join(tmpdir(), "prelude-"));
    file = join(dir, "prelude.gen.ts");
    writeFileSync(file, text.stdout);
  }
  const m = (await import(file)) as { PRELUDE: string; PRELUDE_MAIN?: string; PRELUDE_SOURCES?: V8Prelude["sources"] };
  if (dir) rmSync(dir, { recursive: true, force: true });
  return m.PRELUDE_MAIN && m.PRELUDE_SOURCES ? { main: m.PRELUDE_MAIN, sources: m.PRELUDE_SOURCES } : { main: m.PRELUDE, sources: { streams: "", libs: "" } };
}

const other = process.argv[2] ?? "main";
const preludes: [string, V8Prelude][] = [
  [`prelude of ${other}`, await otherPrelude(other)],
  ["this checkout", { main: PRELUDE_MAIN, sources: PRELUDE_SOURCES }],
];

const mem = new Map<string, unknown>();
const kv: KvStore = {
  get: (a, k) => mem.get(`${a}/${k}`),
  set: (a, k, v) => void mem.set(`${a}/${k}`, v),
  delete: (a, k) => mem.delete(`${a}/${k}`),
  list: () => ({ keys: [], cursor: null }),
};
const TRIVIAL = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": (input) => ({ echo: input, n: 1 }) } });`;
let seq = 0;
const ref = (): BundleRef => {
  const agentId = `a${++seq}`;
  return { agentId, bundleId: `b${seq}`, code: TRIVIAL, config: { agentId, limits: { ...defaultLimits }, allowedHosts: [], secrets: [] } };
};
const post = (body: unknown) => ({ method: "POST", url: "http://bench.cantrip.internal/", headers: [["content-type", "application/json"]] as [string, string][], body: new TextEncoder().encode(JSON.stringify(body)) });
const rss = () => process.memoryUsage().rss;
const childRss = () => {
  const out = Bun.spawnSync(["ps", "--ppid", String(process.pid), "-o", "rss="]).stdout.toString();
  return out.split("\n").reduce((n, l) => n + (Number(l.trim()) || 0), 0) * 1024;
};
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function perInstance(prelude: V8Prelude): Promise<number> {
  const r = createRuntime({ workers: 2, memoryBudgetBytes: 64 * 1024 ** 3, kv, secrets: () => null, egress: {}, engine: v8Engine({}, { prelude }) });
  await r.fetch(ref(), post({}));
  await Bun.sleep(500);
  Bun.gc(true);
  await Bun.sleep(300);
  const before = rss() + childRss();
  for (let i = 0; i < 100; i++) await r.fetch(ref(), post({ i }));
  Bun.gc(true);
  await Bun.sleep(500);
  const per = (rss() + childRss() - before) / 100;
  await r.close();
  return per;
}

const results = new Map<string, number[]>(preludes.map(([name]) => [name, []]));
for (let round = 0; round < 3; round++) for (const [name, p] of preludes) results.get(name)!.push(await perInstance(p));

const load = Bun.spawnSync(["uptime"]).stdout.toString().trim();
console.log(`\nV8 host memory per warm instance (node ${probe.runtime.version}; 100 agents, 3 rounds, median) — ${load}`);
const base = med(results.get(preludes[0]![0])!);
for (const [name] of preludes) {
  const xs = results.get(name)!;
  console.log(`${name.padEnd(28)} ${`${(med(xs) / 1024).toFixed(0)} KB`.padEnd(10)} rounds ${xs.map((x) => (x / 1024).toFixed(0)).join(" / ")} KB   ×${(med(xs) / base).toFixed(2)}   target ≤ 2048 KB`);
}
process.exit(0);
