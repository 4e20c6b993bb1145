/**
 * Developer tool: runs the vendored WPT files whose path contains the argument, in the guest
 * and in Bun, and prints each subtest the guest fails (with Bun's status beside it).
 * Usage: bun test/wpt/show.ts fetch/api/headers/headers-record
 */
import { quickjsEngine } from "../../src/runtime";
import { makeHarness } from "../runtime/harness";
import { listTests, loadTest } from "./files";
import { runInBun, runInGuest } from "./run";

const H = makeHarness(quickjsEngine);
try {
  for (const p of listTests().filter((x) => x.includes(process.argv[2] ?? ""))) {
    const t = loadTest(p);
    const [g, b] = [await runInGuest(H, t), await runInBun(t)];
    const bun = new Map(b.results.map((r) => [r[0], r[1]]));
    console.log(`\n${p}: guest ${g.results.filter((r) => r[1] === 0).length}/${g.results.length}, bun ${b.results.filter((r) => r[1] === 0).length}/${b.results.length}${g.harnessError ? ` (guest harness error: ${g.harnessError})` : ""}`);
    for (const [name, status, message] of g.results) if (status !== 0) console.log(`  [${status}${bun.get(name) === 0 ? ", bun passes" : ""}] ${name.slice(0, 120)} — ${(message ?? "").slice(0, 200)}`);
  }
} finally {
  await H.close();
}
