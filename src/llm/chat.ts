/**
 * One logical chat completion with our own retry loop: each HTTP attempt is timed and
 * reported through onCall (model, prompt hash, tokens, latency, attempt, outcome), 429s
 * wait for Retry-After, 5xx/timeouts/connection errors (and the same statuses carried in
 * an error body inside an HTTP 200) back off exponentially. On a structured call, a 400
 * (whatever its wording) or an empty reply surfaces as FormatRejected so the caller can
 * step down a rung. A reply cut by the server (`finish_reason: "length"`) or withheld by
 * its filter fails with its own code; exhausted retries and refusals become
 * AppError("model_unavailable").
 */
import { createHash } from "node:crypto";
import type OpenAI from "openai";
import { AppError } from "../errors";
import { ReplyTooLarge } from "./reply-limit";
import { readCompletion, StreamedReply, type FinishReason, type ReplyParts } from "./reply";
import { abortReason, backoffMs, classify, sleep } from "./retry";
import type { ChatMessage, LlmCall, ProviderKind, StructuredMode } from "./types";

export interface ChatSettings {
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retryAfterMaxMs: number;
  /** OpenAI itself takes `max_completion_tokens` (its reasoning models refuse `max_tokens`); the others take `max_tokens`. */
  provider?: ProviderKind;
  /** Sees every attempt's record too (metrics), besides the request's own onCall. */
  observe?: (call: LlmCall) => void;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  responseFormat?: OpenAI.Chat.Completions.ChatCompletionCreateParams["response_format"];
  format?: StructuredMode;
  /** Upper bound on the reply's tokens, sent as max_tokens (max_completion_tokens for OpenAI). */
  maxTokens?: number;
  signal?: AbortSignal;
  onCall?: (call: LlmCall) => void;
  onDelta?: (text: string) => void;
}

export interface ChatReply {
  /** The answer: `content`, or the server's reasoning field when `content` was empty. */
  content: string;
  tokensIn: number;
  tokensOut: number;
  finishReason: FinishReason;
}

/** Thrown when the server refuses the requested response_format (caller falls back). */
export class FormatRejected extends Error {
  constructor(readonly format: StructuredMode | undefined, message: string) {
    super(message);
    this.name = "FormatRejected";
  }
}

export function promptHash(model: string, messages: ChatMessage[]): string {
  return createHash("sha256").update(JSON.stringify([model, messages])).digest("hex").slice(0, 16);
}

async function attemptOnce(client: OpenAI, s: ChatSettings, req: ChatRequest): Promise<ChatReply> {
  const limit = req.maxTokens === undefined ? {} : s.provider === "openai" ? { max_completion_tokens: req.maxTokens } : { max_tokens: req.maxTokens };
  const base = { model: req.model, messages: req.messages, ...limit, ...(req.responseFormat ? { response_format: req.responseFormat } : {}) };
  const opts = { signal: req.signal, timeout: s.timeoutMs, maxRetries: 0 };
  if (!req.onDelta) {
    const res = await client.chat.completions.create({ ...base, stream: false }, opts);
    const usage = (res as { usage?: { prompt_tokens?: number; completion_tokens?: number } }).usage;
    return settle(readCompletion(res), usage?.prompt_tokens ?? 0, usage?.completion_tokens ?? 0);
  }
  const stream = await client.chat.completions.create({ ...base, stream: true, stream_options: { include_usage: true } }, opts);
  const parts = new StreamedReply();
  let tokensIn = 0;
  let tokensOut = 0;
  for await (const chunk of stream) {
    const delta = parts.delta(chunk);
    if (delta) req.onDelta(delta);
    if (chunk.usage) {
      tokensIn = chunk.usage.prompt_tokens;
      tokensOut = chunk.usage.completion_tokens;
    }
  }
  return settle(parts, tokensIn, tokensOut);
}

function settle(parts: ReplyParts, tokensIn: number, tokensOut: number): ChatReply {
  // vLLM's reasoning parser with guided decoding leaves content null and the answer in reasoning_content.
  const content = parts.content.trim() ? parts.content : parts.reasoning;
  return { content, tokensIn, tokensOut, finishReason: parts.finishReason };
}

/** Fails a reply the server itself marked unusable; an empty reply on a structured call steps down a rung. */
function checkReply(reply: ChatReply, req: ChatRequest): void {
  if (reply.finishReason === "length")
    throw new AppError(
      "model_output_truncated",
      `The model's reply was cut off after ${reply.tokensOut || "an unknown number of"} tokens (finish_reason "length"; the prompt was ${reply.tokensIn || "?"} tokens). ` +
        `Give the model more room: raise the server's context size (Ollama: OLLAMA_CONTEXT_LENGTH or num_ctx; llama.cpp: --ctx-size; vLLM: --max-model-len) to at least the prompt plus the reply${req.maxTokens ? ` (${req.maxTokens} tokens)` : ""}, or use a model with a larger context.`,
      { details: { finishReason: "length", tokensIn: reply.tokensIn, tokensOut: reply.tokensOut, maxTokens: req.maxTokens } },
    );
  if (reply.finishReason === "content_filter")
    throw new AppError("model_output_filtered", "The model provider withheld the reply (finish_reason \"content_filter\"). Rephrase the requirements or use another model or deployment.", {
      details: { finishReason: "content_filter" },
    });
  if (!reply.content.trim()) {
    if (req.format && req.format !== "none") throw new FormatRejected(req.format, `the server returned an empty reply with response_format ${req.format}`);
    throw new AppError("model_output_invalid", `The model returned an empty reply (finish_reason ${JSON.stringify(reply.finishReason)}).`, {
      details: { reason: "empty", finishReason: reply.finishReason },
    });
  }
}

export async function chat(client: OpenAI, s: ChatSettings, req: ChatRequest): Promise<ChatReply> {
  const hash = promptHash(req.model, req.messages);
  const total = s.maxRetries + 1;
  let last = "";
  for (let attempt = 1; attempt <= total; attempt++) {
    const started = performance.now();
    const report = (c: Partial<LlmCall>) => {
      const call: LlmCall = { model: req.model, promptHash: hash, tokensIn: 0, tokensOut: 0, latencyMs: Math.round(performance.now() - started), attempt, ok: false, format: req.format, ...c };
      req.onCall?.(call);
      s.observe?.(call);
    };
    try {
      const reply = await attemptOnce(client, s, req);
      const used = { tokensIn: reply.tokensIn, tokensOut: reply.tokensOut, ...(reply.finishReason ? { finishReason: reply.finishReason } : {}) };
      try {
        checkReply(reply, req);
      } catch (e) {
        report({ ...used, error: (e as Error).message });
        throw e;
      }
      report({ ...used, ok: true });
      return reply;
    } catch (caught) {
      // The client wraps an error thrown by its fetch (a declared length over the limit) as a connection error.
      const err = (caught as { cause?: unknown })?.cause instanceof ReplyTooLarge ? (caught as { cause: ReplyTooLarge }).cause : caught;
      if (err instanceof ReplyTooLarge) report({ error: err.message });
      if (err instanceof AppError || err instanceof FormatRejected) throw err;
      const v = classify(err, req.signal, req.format !== undefined && req.format !== "none");
      if (v.kind === "abort") {
        report({ error: v.message });
        throw req.signal ? abortReason(req.signal) : err;
      }
      if (v.kind === "format_rejected") {
        report({ error: `response_format ${req.format ?? ""} rejected: ${v.message}`, status: v.status });
        throw new FormatRejected(req.format, v.message);
      }
      last = v.status ? `${v.status} ${v.message}` : v.message;
      if (v.kind === "fatal") {
        report({ error: v.message, status: v.status });
        throw new AppError("model_unavailable", `The model provider refused the request: ${last}`, { cause: err, details: { status: v.status } });
      }
      const wait =
        v.retryAfterMs !== undefined ? Math.min(v.retryAfterMs, s.retryAfterMaxMs) : backoffMs(attempt, s.retryBaseMs, s.retryMaxMs);
      const more = attempt < total;
      report({ error: v.message, status: v.status, ...(more ? { retryInMs: wait } : {}) });
      if (more) await sleep(wait, req.signal);
    }
  }
  throw new AppError("model_unavailable", `The model provider did not answer after ${total} attempt(s): ${last}`, { details: { attempts: total } });
}
