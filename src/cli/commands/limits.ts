/**
 * `cantrip agents limits <agent>`: shows an agent's per-call limits (each marked as set on
 * the agent or following the server default) and changes them through
 * `PATCH /v1/agents/{id}`; `--reset` puts named limits back to the server default.
 */
import type { Command } from "commander";
import { clientFrom, print, UsageError, type GlobalOptions } from "../context";
import { resolveAgent } from "./agents";

/** Public limit names with their flag spelling and unit, in display order (see src/agents/limits.ts). */
const LIMITS: [name: string, flag: string, unit: string][] = [
  ["cpuMs", "cpu-ms", "ms"],
  ["wallMs", "wall-ms", "ms"],
  ["memoryMb", "memory-mb", "MB"],
  ["responseBytes", "response-bytes", "bytes"],
  ["logLines", "log-lines", "lines"],
  ["logBytes", "log-bytes", "bytes"],
  ["fetchPerCall", "fetch-per-call", "requests"],
  ["fetchTimeoutMs", "fetch-timeout-ms", "ms"],
  ["fetchMaxBytes", "fetch-max-bytes", "bytes"],
  ["timers", "timers", "timers"],
];

/** The limits block of `agents show` and `agents limits`: one line per limit. */
export function formatLimits(agent: { limits?: Record<string, number>; limitOverrides?: Record<string, number> }): string {
  return LIMITS.map(([name, , unit]) => {
    const v = agent.limits?.[name];
    const set = agent.limitOverrides?.[name] !== undefined;
    return `  ${name.padEnd(16)} ${String(v ?? "-").padStart(10)} ${unit.padEnd(8)} ${set ? "set on this agent" : "server default"}`;
  }).join("\n");
}

export function registerLimitsCommand(agents: Command, g: () => GlobalOptions): void {
  const cmd = agents
    .command("limits <agent>")
    .description("Show or change an agent's per-call limits (within the operator's maxima); the next call runs with them.")
    .option("--reset <names>", "comma-separated limit names to put back to the server default (e.g. cpu-ms,wall-ms)");
  for (const [name, flag, unit] of LIMITS) cmd.option(`--${flag} <n>`, `${name} (${unit})`);
  cmd.action(async (ref: string, o: Record<string, string | undefined>) => {
    const client = clientFrom(g());
    const a = await resolveAgent(client, ref);
    const patch: Record<string, number | null> = {};
    for (const [name, flag] of LIMITS) {
      const raw = o[name];
      if (raw === undefined) continue;
      if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${flag}: expected a whole number, got "${raw}"`);
      patch[name] = Number(raw);
    }
    for (const r of (o.reset ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
      const hit = LIMITS.find(([name, flag]) => r === name || r === flag);
      if (!hit) throw new UsageError(`--reset: unknown limit "${r}" (one of ${LIMITS.map((l) => l[1]).join(", ")})`);
      patch[hit[0]] = null;
    }
    const res = Object.keys(patch).length ? await client.request("PATCH", `/v1/agents/${a.id}`, { limits: patch }) : { data: a };
    print(g(), { data: { id: res.data.id, slug: res.data.slug, limits: res.data.limits, limitOverrides: res.data.limitOverrides } }, () => `${res.data.slug} limits per call:\n${formatLimits(res.data)}`);
  });
}
