/**
 * The README's configuration tables against the settings table (src/config/schema.ts):
 * every setting appears exactly once, with its environment variable, its `serve` flag and
 * its default, and no row names a setting that does not exist. The per-call limit table
 * pairs each default with its maximum (`A` / `B` in every column). A setting added to the
 * schema without a README row, or a default changed on one side only, fails here.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settings, type SettingSpec } from "../../src/config/schema";

const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
const section = readme.slice(readme.indexOf("\n## Configuration\n"), readme.indexOf("\n## ", readme.indexOf("\n## Configuration\n") + 5));

/** The first backticked value in a cell, or the cell's text when it has none. */
const literals = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);

interface Row { env: string; flag: string; def: string }

/** Rows of both tables, the limit table's `A` / `B` cells split into two rows. */
function readmeRows(): Row[] {
  const rows: Row[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const envs = literals(cells[0]!);
    const flags = literals(cells[1]!);
    if (envs.length === 2) {
      const defs = literals(cells[2]!);
      envs.forEach((env, i) => rows.push({ env, flag: flags[i]!, def: defs[i] ?? "" }));
    } else {
      rows.push({ env: envs[0]!, flag: flags[0]!, def: cells[2]! });
    }
  }
  return rows;
}

/** How an empty default may be written: what the server does instead. */
const EMPTY_DEFAULTS = new Set(["(none)", "derived", "generated", "(PATH)", "`http://host:port`"]);

function defaultMatches(spec: SettingSpec, cell: string): boolean {
  const d = spec.default;
  if (d === "" || (Array.isArray(d) && d.length === 0)) return EMPTY_DEFAULTS.has(cell);
  const first = literals(cell)[0] ?? cell;
  return first === String(d);
}

const rows = readmeRows();
const specs = Object.values(settings) as SettingSpec[];

test("the README configuration tables have one row per setting, nothing else", () => {
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.env, (count.get(r.env) ?? 0) + 1);
  expect(specs.filter((s) => count.get(s.env) !== 1).map((s) => `${s.env}: ${count.get(s.env) ?? 0} rows`)).toEqual([]);
  const known = new Set(specs.map((s) => s.env));
  expect(rows.filter((r) => !known.has(r.env)).map((r) => r.env)).toEqual([]);
});

test.each(specs.map((s) => [s.env, s] as const))("%s: README flag and default match the settings table", (_env, spec) => {
  const row = rows.find((r) => r.env === spec.env);
  expect(row).toBeDefined();
  expect(row!.flag).toBe(`--${spec.flag}`);
  if (!defaultMatches(spec, row!.def)) throw new Error(`${spec.env}: README default ${row!.def} but the schema's is ${JSON.stringify(spec.default)}`);
});
