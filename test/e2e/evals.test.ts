/** The eval harness on its scripted subset with the fake model (what CI can run). */
import { expect, test } from "bun:test";
import { leakedChecks, runEvals } from "../../bench/evals/run";
import { cases } from "../../bench/evals/prompts";

test("scripted eval subset passes every hidden check; prompt sizes are measured and no check reaches the model", async () => {
  const lines: string[] = [];
  const results = await runEvals({ fake: true, log: (l) => lines.push(l) });
  expect(results.map((r) => r.id).sort()).toEqual(["counter", "email-validator", "lead-qualification", "todo-crud", "weather-proxy"]);
  for (const r of results) {
    expect(r.failures).toEqual([]);
    expect(r.checksPassed).toBe(r.checksTotal);
    expect(r.tokens).toBeGreaterThan(0);
    // cantrip's own prompt measurements, per step.
    expect(r.promptTokens.plan).toBeGreaterThan(500);
    expect(r.promptTokens.code).toBeGreaterThan(500);
    expect(r.repairs).toBe(0);
  }
  expect(lines[0]).toMatch(/prompt ~tokens plan \d+ \/ code \d+ +server-reported tokens \d+ +model [\d.]+s of pipeline [\d.]+s/);
  expect(lines.at(-1)).toMatch(/^TOTAL: 5\/5 prompts fully passing/);
}, 120_000);

test("a failed generation reports the repairs it used", async () => {
  const lines: string[] = [];
  const results = await runEvals({ fake: true, only: ["email-validator"], log: (l) => lines.push(l), breakCode: true });
  expect(results[0]!.status).toBe("failed");
  expect(results[0]!.repairs).toBe(3);
  expect(results[0]!.promptTokens.repair).toBeGreaterThan(500);
  expect(lines[0]).toContain("repairs 3");
}, 120_000);

test("the leak detector flags a check body in a plan request, not one the prompt spells out", () => {
  const lead = cases.find((c) => c.id === "lead-qualification")!;
  const body = lead.checks[0]!.body;
  const planReq = (extra: string) => JSON.stringify({ messages: [{ role: "system", content: "[cantrip:plan] ..." }, { role: "user", content: `Requirements:\n${lead.prompt}${extra}` }] });
  expect(leakedChecks([lead], [planReq("")])).toEqual([]);
  expect(leakedChecks([lead], [planReq(`\nhint: ${JSON.stringify(body)}`)])).toEqual([`lead-qualification: ${lead.checks[0]!.name}`]);
  // The same body in a code request (which carries the model's own spec) is not a leak.
  expect(leakedChecks([lead], [JSON.stringify({ messages: [{ role: "system", content: "[cantrip:code]" }, { role: "user", content: JSON.stringify(body) }] })])).toEqual([]);
});
