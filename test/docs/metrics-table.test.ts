/**
 * The README's Monitoring table against the registry: every `cantrip_*` series that a
 * server with all its sources exports has a row (a row may abbreviate siblings as
 * `cantrip_sandbox_workers`, `_instances`), and every row names a real series.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Metrics } from "../../src/metrics";

const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
const start = readme.indexOf("\n## Monitoring\n");
const section = readme.slice(start, readme.indexOf("\n## ", start + 5));

/** Series names in the table's first column, `_suffix` shorthands expanded against the row's first name. */
function documented(): Set<string> {
  const out = new Set<string>();
  for (const line of section.split("\n").filter((l) => l.startsWith("| `"))) {
    let base = "";
    for (const [, name] of line.split("|")[1]!.matchAll(/`([a-z_]+)`/g)) {
      if (name!.startsWith("cantrip_")) {
        out.add(name!);
        base = name!.split("_").slice(0, 2).join("_");
      } else if (name!.startsWith("_") && base) out.add(base + name);
    }
  }
  return out;
}

test("every cantrip_* series has a row in the README's Monitoring table, and every row is real", async () => {
  const m = new Metrics(
    {
      sandbox: () => ({ workers: 1, instances: 0, memoryBytes: 0, memoryBudgetBytes: 1, loads: 0, evictions: 0, watchdogKills: 0, zombieThreads: 0, queued: 0, refused: 0 }),
      queue: () => [],
      database: () => ({ sizeBytes: 0, prunedRows: 0, droppedRows: 0 }),
      backgroundFailures: () => [],
    },
    { processMetrics: false },
  );
  const exported = [...(await m.scrape()).body.matchAll(/^# HELP (cantrip_\S+)/gm)].map((x) => x[1]!);
  const rows = documented();
  expect(exported.filter((n) => !rows.has(n))).toEqual([]);
  expect([...rows].filter((n) => !exported.includes(n))).toEqual([]);
});
