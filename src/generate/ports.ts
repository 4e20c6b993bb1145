/**
 * What the pipeline needs from its capabilities, as small structural types: the LLM
 * provider (src/llm), the bundler (src/bundle) and the job context (src/jobs) satisfy them.
 */
import type { Static, TSchema } from "@sinclair/typebox";

export interface LlmCallRecord {
  step?: string;
  model: string;
  promptHash?: string;
  tokensIn: number;
  tokensOut: number;
  /** cantrip's own estimate of the prompt (system + messages), chars / 4. */
  promptTokens?: number;
  latencyMs: number;
  attempt?: number;
  ok: boolean;
  error?: string;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerationLlm {
  json<T extends TSchema>(opts: { system: string; messages: ChatMessage[]; schema: T; schemaName: string; model?: string; signal?: AbortSignal; onCall?: (c: LlmCallRecord) => void; maxTokens?: number }): Promise<Static<T>>;
  text(opts: { system: string; messages: ChatMessage[]; model?: string; signal?: AbortSignal; onCall?: (c: LlmCallRecord) => void; maxTokens?: number }): Promise<string>;
}

export interface BundleDiagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface GenerationBundler {
  tryBundle(input: { files: Record<string, string>; entrypoint: string }): Promise<
    { ok: true; code: string; hash: string; warnings: unknown[] } | { ok: false; diagnostics: BundleDiagnostic[] }
  >;
}

export interface PipelineContext {
  signal: AbortSignal;
  log(level: "info" | "warn" | "error", message: string, data?: unknown): void;
  progress(pct: number, stage: string): void;
}
