/**
 * bench/invoke.ts — throughput and latency of POST /v1/invoke/{slug} on a trivial JSON
 * backend, next to a plain Bun.serve JSON echo measured in the same run with the same load
 * generator (loopback only, bounded in time). Prints medians over rounds and the ratio.
 *
 *   bun bench/invoke.ts [--seconds 5] [--rounds 3] [--connections 50] [--compiled]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fmt, median, runLoad, type LoadResult, type LoadSpec } from "./lib/load";
import { rmSync } from "node:fs";
import { deployTrivial, exportCommit, freePort, startCantrip, type CantripProcess } from "./lib/cantrip-process";
import { flag, numberOpt, stringOpt } from "./lib/args";

const seconds = numberOpt("seconds", 5);
const rounds = numberOpt("rounds", 3);
const connections = numberOpt("connections", 50);
const withApps = !flag("no-apps");
const against = stringOpt("against");

const TRIVIAL = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0 }) } },
});
`;

async function startPlainEcho(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dir, "lib", "plain-echo.ts"), String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url, { method: "POST", body: "{}" });
      break;
    } catch {
      await Bun.sleep(50);
    }
  }
  return { url, stop: () => child.kill("SIGTERM") };
}

interface Target {
  name: string;
  proc: CantripProcess;
  invoke: LoadSpec;
  apps: LoadSpec;
  inv: LoadResult[];
  app: LoadResult[];
}

const plain = await startPlainEcho();
const refDir = against ? exportCommit(against) : null;
const procs: { name: string; proc: CantripProcess }[] = [];
try {
  procs.push({ name: "cantrip", proc: await startCantrip({ compiled: flag("compiled") }) });
  if (refDir) procs.push({ name: `cantrip@${against}`, proc: await startCantrip({ root: refDir }) });
  const body = JSON.stringify({ n: 1 });
  const targets: Target[] = [];
  for (const { name, proc } of procs) {
    const { slug, key } = await deployTrivial(proc, "bench trivial", TRIVIAL);
    const invoke = { url: `${proc.url}/v1/invoke/${slug}`, method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, connections, seconds };
    targets.push({ name, proc, invoke, apps: { ...invoke, url: `${proc.url}/apps/${slug}/` }, inv: [], app: [] });
  }
  const plainSpec = { url: plain.url, method: "POST", body, headers: { "content-type": "application/json" }, connections, seconds };
  // Warm everything (JIT, sandbox instances, connection pools).
  await runLoad({ ...plainSpec, seconds: 1 });
  for (const t of targets) {
    await runLoad({ ...t.invoke, seconds: 1 });
    if (withApps) await runLoad({ ...t.apps, seconds: 1 });
  }
  const base: LoadResult[] = [];
  for (let r = 0; r < rounds; r++) {
    base.push(await runLoad(plainSpec));
    for (const t of targets) {
      t.inv.push(await runLoad(t.invoke));
      if (withApps) t.app.push(await runLoad(t.apps));
    }
  }
  const row = (name: string, rs: LoadResult[]) =>
    `${name.padEnd(36)} ${fmt(median(rs.map((x) => x.rps)), 0).padStart(9)} req/s   p50 ${fmt(median(rs.map((x) => x.p50))).padStart(6)} ms   p99 ${fmt(median(rs.map((x) => x.p99))).padStart(6)} ms   errors ${rs.reduce((n, x) => n + x.errors + x.non2xx, 0)}`;
  const each = (rs: LoadResult[]) => rs.map((x, i) => `${fmt((x.rps / base[i]!.rps) * 100, 1)}%`).join(" ");
  const ratioLine = (label: string, rs: LoadResult[]) =>
    `ratio: ${label.padEnd(30)} ${fmt((median(rs.map((x) => x.rps)) / median(base.map((x) => x.rps))) * 100, 1).padStart(5)}% of plain Bun; p99 ${fmt(median(rs.map((x) => x.p99)))} ms; per round: ${each(rs)}`;
  console.log(`load: ${base[0]!.tool}, ${connections} connections, ${seconds}s x ${rounds} rounds (medians); targets: invoke >= 25% of plain Bun, p99 <= 12 ms`);
  console.log(row("plain Bun.serve JSON echo", base));
  for (const t of targets) {
    console.log(row(`${t.name} POST /v1/invoke`, t.inv));
    if (withApps) console.log(row(`${t.name} POST /apps/{slug}/`, t.app));
  }
  for (const t of targets) {
    console.log(ratioLine(`${t.name} invoke`, t.inv));
    if (withApps) console.log(ratioLine(`${t.name} /apps`, t.app));
  }
  if (targets.length === 2) {
    const [now, ref] = targets as [Target, Target];
    const vs = (a: LoadResult[], b: LoadResult[]) => a.map((x, i) => fmt(x.rps / b[i]!.rps, 2) + "x").join(" ");
    console.log(`this tree vs ${against}, per round: invoke ${vs(now.inv, ref.inv)}${withApps ? `; /apps ${vs(now.app, ref.app)}` : ""}`);
  }
} finally {
  plain.stop();
  for (const { proc } of procs) await proc.stop();
  if (refDir) rmSync(refDir, { recursive: true, force: true });
}
