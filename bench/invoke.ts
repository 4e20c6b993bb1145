/**
 * bench/invoke.ts — throughput and latency of POST /v1/invoke/{slug} on a trivial JSON
 * backend, next to a plain Bun.serve JSON echo measured in the same run with the same load
 * generator (loopback only, bounded in time). Prints medians over rounds and the ratio.
 *
 *   bun bench/invoke.ts [--seconds 5] [--rounds 3] [--connections 50] [--compiled]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fmt, median, runLoad, type LoadResult } from "./lib/load";
import { deployTrivial, freePort, startCantrip } from "./lib/cantrip-process";
import { flag, numberOpt } from "./lib/args";

const seconds = numberOpt("seconds", 5);
const rounds = numberOpt("rounds", 3);
const connections = numberOpt("connections", 50);
const withApps = !flag("no-apps");

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

const plain = await startPlainEcho();
const cantrip = await startCantrip({ compiled: flag("compiled") });
try {
  const { slug, key } = await deployTrivial(cantrip, "bench trivial", TRIVIAL);
  const body = JSON.stringify({ n: 1 });
  const invokeSpec = { url: `${cantrip.url}/v1/invoke/${slug}`, method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, connections, seconds };
  const appsSpec = { ...invokeSpec, url: `${cantrip.url}/apps/${slug}/` };
  const plainSpec = { url: plain.url, method: "POST", body, headers: { "content-type": "application/json" }, connections, seconds };
  // Warm both (JIT, sandbox instances, connection pools).
  await runLoad({ ...invokeSpec, seconds: 1 });
  await runLoad({ ...plainSpec, seconds: 1 });
  if (withApps) await runLoad({ ...appsSpec, seconds: 1 });
  const base: LoadResult[] = [];
  const inv: LoadResult[] = [];
  const apps: LoadResult[] = [];
  for (let r = 0; r < rounds; r++) {
    base.push(await runLoad(plainSpec));
    inv.push(await runLoad(invokeSpec));
    if (withApps) apps.push(await runLoad(appsSpec));
  }
  const row = (name: string, rs: LoadResult[]) =>
    `${name.padEnd(28)} ${fmt(median(rs.map((x) => x.rps)), 0).padStart(9)} req/s   p50 ${fmt(median(rs.map((x) => x.p50))).padStart(6)} ms   p99 ${fmt(median(rs.map((x) => x.p99))).padStart(6)} ms   errors ${rs.reduce((n, x) => n + x.errors + x.non2xx, 0)}`;
  console.log(`load: ${inv[0]!.tool}, ${connections} connections, ${seconds}s x ${rounds} rounds (medians)`);
  console.log(row("plain Bun.serve JSON echo", base));
  console.log(row("cantrip POST /v1/invoke", inv));
  if (withApps) console.log(row("cantrip POST /apps/{slug}/", apps));
  const each = (rs: LoadResult[]) => rs.map((x, i) => `${fmt((x.rps / base[i]!.rps) * 100, 1)}%`).join(" ");
  const ratio = median(inv.map((x) => x.rps)) / median(base.map((x) => x.rps));
  console.log(`ratio: invoke throughput = ${fmt(ratio * 100, 1)}% of plain Bun (target >= 25%); invoke p99 ${fmt(median(inv.map((x) => x.p99)))} ms (target <= 12 ms); per round: ${each(inv)}`);
  if (withApps) {
    const appsRatio = median(apps.map((x) => x.rps)) / median(base.map((x) => x.rps));
    console.log(`ratio: /apps throughput = ${fmt(appsRatio * 100, 1)}% of plain Bun; /apps p99 ${fmt(median(apps.map((x) => x.p99)))} ms; per round: ${each(apps)}`);
  }
} finally {
  plain.stop();
  await cantrip.stop();
}
