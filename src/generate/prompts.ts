/**
 * Loads the prompt files that live beside the pipeline (embedded as text, so the compiled
 * executable carries them) and fills in the SDK's declarations and the worked example.
 */
import planMd from "./prompts/plan.md" with { type: "text" };
import codeMd from "./prompts/code.md" with { type: "text" };
import repairMd from "./prompts/repair.md" with { type: "text" };
import exampleMd from "./prompts/example-backend.md" with { type: "text" };
// @ts-expect-error TS2846: Bun imports the SDK's declaration file as text (import attribute); tsc cannot type that.
import sdkDtsText from "../../sandbox/sdk/cantrip.d.ts" with { type: "text" };
import type { Spec } from "./spec";

const sdkDts = sdkDtsText as unknown as string;
const fill = (s: string) => s.replaceAll("{{SDK}}", sdkDts.trim()).replaceAll("{{EXAMPLE}}", exampleMd.trim());

export const prompts = {
  plan: planMd.trim(),
  code: fill(codeMd).trim(),
  repair: fill(repairMd).trim(),
  sdk: sdkDts,
};

export function planUserMessage(requirements: string, facts?: Record<string, unknown>): string {
  const extra = facts && Object.keys(facts).length ? `\n\nFacts gathered from the user:\n${JSON.stringify(facts, null, 2)}` : "";
  return `Requirements:\n${requirements}${extra}`;
}

export function codeUserMessage(spec: Spec): string {
  return `The spec:\n${JSON.stringify(spec, null, 2)}`;
}

export function repairUserMessage(spec: Spec, source: string, failures: string): string {
  return `The spec:\n${JSON.stringify(spec, null, 2)}\n\nThe current module:\n\`\`\`ts\n${source}\n\`\`\`\n\nWhat failed:\n${failures}`;
}
