/**
 * bench/allocations.ts — what one call allocates on cantrip's main thread, by JavaScriptCore
 * cell type: a census probe preloaded into the server (bench/lib/census-probe.ts) collects
 * fully, then N calls of the trivial backend of bench/invoke.ts are made (POST
 * `/v1/invoke/{slug}` and POST `/apps/{slug}/`, from a separate process, 10 at a time), and
 * the cells allocated in between are counted per call. Counts, not times: the same code gives
 * about the same figures on a busy machine (within a few percent: the server's background
 * loops allocate too), so a change that allocates less shows here even where the throughput
 * benches cannot tell it from their noise. Native memory behind cells (a
 * Request's headers, a string's characters) is not counted. With `--against REF` the code of
 * that commit is counted too, side by side.
 *
 *   bun bench/allocations.ts [--calls 400] [--against REF] [--top 25]
 *
 * The calls must fit between two collections of the main heap (an eden collection frees the
 * counted cells): with ~30 MB of young generation and ~15 KB per call that is ~2,000 calls, so
 * the default is well inside; a run in which a collection came between the counts says so.
 * The counts include what the server's background loops allocate meanwhile: the same waits
 * with no calls are counted too and printed as "background", for scale (not subtracted: the
 * calls' window is a little longer).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployTrivial, exportCommit, startCantrip } from "./lib/cantrip-process";
import { INVOKE_TRIVIAL } from "./lib/backends";
import { runLoad } from "./lib/load";
import { numberOpt, stringOpt } from "./lib/args";

const calls = numberOpt("calls", 400);
const top = numberOpt("top", 25);
const against = stringOpt("against");

/** `n` POSTs of `body` to `url`, 10 at a time, from a child process (its own allocations are not the server's, but it keeps the picture clean). Throws on a non-2xx. */
async function callsFromChild(url: string, headers: Record<string, string>, n: number): Promise<void> {
  const script = `const url = ${JSON.stringify(url)}, headers = ${JSON.stringify(headers)}; let left = ${n};
await Promise.all(Array.from({ length: 10 }, async () => { while (left-- > 0) { const r = await fetch(url, { method: "POST", body: '{"n":1}', headers }); await r.arrayBuffer(); if (!r.ok) throw new Error("status " + r.status); } }));`;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "inherit", stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error("the calls failed");
}

async function waitFor(file: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(file); i++) await Bun.sleep(20);
  if (!existsSync(file)) throw new Error(`the census probe did not answer (${file})`);
}

type Census = { cells: Map<string, number>; collected: boolean };

const dir = mkdtempSync(join(tmpdir(), "cantrip-census-"));
const refDir = against ? exportCommit(against) : null;
const probe = join(import.meta.dir, "lib", "census-probe.ts");
const results: { name: string; invoke: Census; apps: Census; background: Census }[] = [];
try {
  const roots: [string, string | undefined][] = [["this tree", undefined], ...(refDir ? ([[`${against}`, refDir]] as [string, string][]) : [])];
  for (const [name, root] of roots) {
    const out = join(dir, `${results.length}.json`);
    // BUN_GC_TIMER_DISABLE: no collection started by Bun's own timer between the two counts.
    const proc = await startCantrip({ root, env: { CANTRIP_SANDBOX_AGENT_QUEUE: "100", BUN_OPTIONS: `--preload ${probe}`, CANTRIP_CENSUS_OUT: out, BUN_GC_TIMER_DISABLE: "1" } });
    try {
      const { slug, key } = await deployTrivial(proc, "bench census", INVOKE_TRIVIAL);
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      /** Cells allocated while `n` calls are made to `url` (0: the same waits, no calls). */
      const census = async (url: string, n: number): Promise<Census> => {
        if (n > 0) await runLoad({ url, method: "POST", body: JSON.stringify({ n: 1 }), headers, connections: 10, seconds: 2 }); // warm (JIT, pools)
        await Bun.sleep(500);
        rmSync(`${out}.ready`, { force: true });
        rmSync(out, { force: true });
        proc.child.kill("SIGUSR1");
        await waitFor(`${out}.ready`);
        await Bun.sleep(200);
        await callsFromChild(url, headers, n);
        await Bun.sleep(300); // the invocation log's 200 ms flush, and the last replies
        proc.child.kill("SIGUSR2");
        await waitFor(out);
        const r = JSON.parse(readFileSync(out, "utf8")) as { diff: Record<string, number>; collected: boolean };
        return { cells: new Map(Object.entries(r.diff)), collected: r.collected };
      };
      const invoke = `${proc.url}/v1/invoke/${slug}`;
      results.push({ name, invoke: await census(invoke, calls), apps: await census(`${proc.url}/apps/${slug}/`, calls), background: await census(invoke, 0) });
    } finally {
      await proc.stop();
    }
  }
  const perCall = (c: Census, t: string) => (c.cells.get(t) ?? 0) / calls;
  const total = (c: Census) => [...c.cells.values()].reduce((a, b) => a + b, 0) / calls;
  for (const path of ["invoke", "apps"] as const) {
    const label = path === "invoke" ? "POST /v1/invoke/{slug}" : "POST /apps/{slug}/";
    console.log(`${label}: cells allocated per call on the main thread (${calls} calls)`);
    const types = [...new Set(results.flatMap((r) => [...r[path].cells.keys()]))].sort((a, b) => perCall(results[0]![path], b) - perCall(results[0]![path], a));
    console.log(`  ${"type".padEnd(28)}${results.map((r) => r.name.padStart(14)).join("")}`);
    for (const t of types.slice(0, top)) console.log(`  ${t.padEnd(28)}${results.map((r) => perCall(r[path], t).toFixed(2).padStart(14)).join("")}`);
    console.log(`  ${"all types".padEnd(28)}${results.map((r) => total(r[path]).toFixed(2).padStart(14)).join("")}`);
    console.log(`  ${"background (no calls)".padEnd(28)}${results.map((r) => total(r.background).toFixed(2).padStart(14)).join("")}`);
    for (const r of results) if (r[path].collected || r.background.collected) console.log(`  (${r.name}: a collection ran between the counts, so these figures are too low: try fewer --calls)`);
  }
} finally {
  if (refDir) rmSync(refDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
