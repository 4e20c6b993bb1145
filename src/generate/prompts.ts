/**
 * Loads the prompt files that live beside the pipeline (embedded as text, so the compiled
 * executable carries them), builds each step's user message — the requirements travel to
 * every step, the repair step also gets a short history of earlier attempts — and cuts the
 * SDK's declarations down to what the spec's backend uses (prompt budget, see README
 * "Generation"). `estimateTokens` is the budget's unit.
 */
import planMd from "./prompts/plan.md" with { type: "text" };
import codeMd from "./prompts/code.md" with { type: "text" };
import repairMd from "./prompts/repair.md" with { type: "text" };
import exampleMd from "./prompts/example-backend.md" with { type: "text" };
// @ts-expect-error TS2846: Bun imports the SDK's declaration file as text (import attribute); tsc cannot type that.
import sdkDtsText from "../../sandbox/sdk/cantrip.d.ts" with { type: "text" };
import type { Spec } from "./spec";

const sdkDts = sdkDtsText as unknown as string;

/** What the spec's backend uses, which decides the SDK declarations its prompts show. */
type Uses = { kv: boolean; net: boolean; secrets: boolean; scheduled: boolean };

function usesOf(spec: Partial<Pick<Spec, "storage" | "externalHosts" | "secrets" | "schedule">> | undefined): Uses {
  if (!spec) return { kv: true, net: true, secrets: true, scheduled: true };
  return { kv: !!spec.storage, net: (spec.externalHosts?.length ?? 0) > 0, secrets: (spec.secrets?.length ?? 0) > 0, scheduled: !!spec.schedule };
}

/**
 * The SDK's declarations without the parts a backend does not use: the KV interface
 * without storage, Secrets without secrets, ctx.fetch without external hosts, `scheduled`
 * without a schedule, and the `Backend`/`route`/`Type` declarations no generated backend
 * needs. Top-level declarations are separated by blank lines in cantrip.d.ts.
 */
export function sdkFor(spec?: Partial<Pick<Spec, "storage" | "externalHosts" | "secrets" | "schedule">>): string {
  const u = usesOf(spec);
  const blocks = sdkDts.trim().split(/\n\s*\n/);
  const drop = (b: string) =>
    (!u.kv && /^(\/\*\*[^\n]*\n)?export interface KV\b/m.test(b)) ||
    (!u.secrets && /export interface Secrets\b/.test(b)) ||
    /export interface Backend\b|export declare function route\b|export declare const Type\b/.test(b);
  return blocks
    .filter((b) => !drop(b))
    .map((b) =>
      b
        .split("\n")
        .filter((line) => {
          if (!u.kv && /^\s*kv: KV;/.test(line)) return false;
          if (!u.secrets && /^\s*secrets: Secrets;/.test(line)) return false;
          if (!u.net && /^\s*(fetch: typeof fetch;|\/\*\* Outbound HTTP)/.test(line)) return false;
          if (!u.scheduled && /^\s*(scheduled\?: \(ctx|\/\*\* Runs on the backend's cron)/.test(line)) return false;
          return true;
        })
        .join("\n"),
    )
    .join("\n\n");
}

const fill = (s: string, spec?: Spec) => s.replaceAll("{{SDK}}", sdkFor(spec)).replaceAll("{{EXAMPLE}}", exampleMd.trim()).trim();

export const prompts = {
  plan: planMd.trim(),
  /** The code step's system prompt with the full SDK; `codeSystem(spec)` is what the pipeline sends. */
  code: fill(codeMd),
  repair: fill(repairMd),
  sdk: sdkDts,
};

/** The code step's system prompt for `spec` (only the SDK declarations it uses). */
export function codeSystem(spec: Spec): string {
  return fill(codeMd, spec);
}

/** The repair step's system prompt for `spec`. */
export function repairSystem(spec: Spec): string {
  return fill(repairMd, spec);
}

/**
 * A token estimate for prompt budgets: characters / 4, rounded up (the usual rule of thumb
 * for English and code with BPE tokenizers; real counts differ by roughly ±20%).
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function planUserMessage(requirements: string, facts?: Record<string, unknown>): string {
  const extra = facts && Object.keys(facts).length ? `\n\nFacts gathered from the user:\n${JSON.stringify(facts, null, 2)}` : "";
  return `Requirements:\n${requirements}${extra}`;
}

function rulesOf(spec: Spec): string {
  const rules = spec.rules ?? [];
  return rules.length ? `\n\nRules, constants and formulas to follow exactly:\n${rules.map((r) => `- ${r}`).join("\n")}` : "";
}

/** The code step's message: the requirements, the rules, then the spec. */
export function codeUserMessage(spec: Spec, requirements: string): string {
  return `Requirements:\n${requirements}${rulesOf(spec)}\n\nThe spec:\n${JSON.stringify(spec, null, 1)}`;
}

/** One earlier attempt as the repair step sees it. */
export interface AttemptNote {
  /** 1 for the code step's module, 2.. for repairs. */
  attempt: number;
  /** What happened, in one or a few lines (compile errors, failing checks). */
  outcome: string;
  /** Which earlier attempt's module this one repeated, when it did. */
  sameAs?: number;
}

/**
 * The repair step's message: requirements, rules, spec, the current module, what failed,
 * and (from the second repair on) the earlier attempts and their outcomes, so the model
 * does not go back to a module that already failed.
 */
export function repairUserMessage(spec: Spec, requirements: string, source: string, failures: string, history: AttemptNote[] = [], currentSameAs?: number): string {
  const same = currentSameAs ? `, the same module as attempt ${currentSameAs}: try a different fix` : "";
  const past = history.length
    ? `\n\nEarlier attempts (oldest first; the current module is attempt ${history.length + 1}${same}):\n${history
        .map((h) => `- attempt ${h.attempt}${h.sameAs ? ` (the same module as attempt ${h.sameAs})` : ""}: ${h.outcome}`)
        .join("\n")}`
    : "";
  return `Requirements:\n${requirements}${rulesOf(spec)}\n\nThe spec:\n${JSON.stringify(spec, null, 1)}\n\nThe current module:\n\`\`\`ts\n${source}\n\`\`\`\n\nWhat failed:\n${failures}${past}`;
}
