/** The eval harness on its scripted subset with the fake model (what CI can run). */
import { expect, test } from "bun:test";
import { runEvals } from "../../bench/evals/run";

test("scripted eval subset passes every hidden check", async () => {
  const lines: string[] = [];
  const results = await runEvals({ fake: true, log: (l) => lines.push(l) });
  expect(results.map((r) => r.id).sort()).toEqual(["counter", "email-validator", "lead-qualification"]);
  for (const r of results) {
    expect(r.failures).toEqual([]);
    expect(r.checksPassed).toBe(r.checksTotal);
    expect(r.tokens).toBeGreaterThan(0);
  }
  expect(lines.at(-1)).toMatch(/^TOTAL: 3\/3 prompts fully passing/);
}, 120_000);
