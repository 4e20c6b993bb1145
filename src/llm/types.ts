/**
 * The shapes of the LLM capability: options the composition root passes in, the call
 * record every HTTP attempt reports (the job log keeps it), and the Llm interface the
 * generation pipeline depends on. Nothing here does I/O.
 */
import type { Static, TSchema } from "@sinclair/typebox";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** How JSON is asked for: a rung on the fallback ladder json_schema → json_object → none. */
export type StructuredMode = "json_schema" | "json_object" | "none";

export type ProviderKind = "openai" | "ollama" | "compatible";

export interface LlmOptions {
  /** OpenAI-compatible base URL ending in /v1; empty means "not configured". */
  baseURL: string;
  /** Local servers accept any value; an empty key is sent as "not-needed". */
  apiKey?: string;
  /** Default model for calls that do not name one. */
  model: string;
  /** Timeout of one HTTP attempt. Default 120 000. */
  timeoutMs?: number;
  /** Retries after the first attempt for 429/5xx/timeouts/connection errors. Default 2. */
  maxRetries?: number;
  /** "auto" (default) starts at json_schema and falls back when the server rejects it. */
  structuredOutput?: "auto" | StructuredMode;
  /** First backoff delay; doubles per retry up to retryMaxMs. Defaults 500 / 8000. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Upper bound on a server's Retry-After. Default 60 000. */
  retryAfterMaxMs?: number;
  /** Sees every HTTP attempt's record (metrics). */
  observe?: (call: LlmCall) => void;
}

/** One HTTP attempt, reported through onCall whether it worked or not. */
export interface LlmCall {
  model: string;
  promptHash: string;
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  /** 1-based attempt number within one logical call. */
  attempt: number;
  ok: boolean;
  error?: string;
  /** The response_format rung used (absent for text calls). */
  format?: StructuredMode;
  /** HTTP status of a failed attempt, when there was one. */
  status?: number;
  /** Delay before the next attempt, when one follows. */
  retryInMs?: number;
  /** Why the server stopped generating ("stop", "length", "content_filter", …), when it said. */
  finishReason?: string;
}

export interface CallOptions {
  system: string;
  messages: ChatMessage[];
  model?: string;
  /** Upper bound on the reply's tokens (max_tokens; max_completion_tokens for OpenAI). Unset: the server's default. */
  maxTokens?: number;
  signal?: AbortSignal;
  onCall?: (call: LlmCall) => void;
}

export interface JsonRequest<T extends TSchema> extends CallOptions {
  schema: T;
  schemaName: string;
}

export interface TextRequest extends CallOptions {
  /** When given, the reply is streamed and each piece of text is passed here as it arrives. */
  onDelta?: (text: string) => void;
}

export interface Llm {
  readonly provider: ProviderKind;
  readonly defaultModel: string;
  /** A value validated against `schema` (one corrective re-ask), or an AppError. */
  json<T extends TSchema>(req: JsonRequest<T>): Promise<Static<T>>;
  /** The reply text (streamed when onDelta is given). */
  text(req: TextRequest): Promise<string>;
}
