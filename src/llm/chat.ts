/**
 * One logical chat completion with our own retry loop: each HTTP attempt is timed and
 * reported through onCall (model, prompt hash, tokens, latency, attempt, outcome), 429s
 * wait for Retry-After, 5xx/timeouts/connection errors back off exponentially. A 400
 * that rejects response_format surfaces as FormatRejected so the caller can fall back;
 * exhausted retries and other refusals become AppError("model_unavailable").
 */
import { createHash } from "node:crypto";
import type OpenAI from "openai";
import { AppError } from "../errors";
import { abortReason, backoffMs, classify, sleep } from "./retry";
import type { ChatMessage, LlmCall, StructuredMode } from "./types";

export interface ChatSettings {
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retryAfterMaxMs: number;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  responseFormat?: OpenAI.Chat.Completions.ChatCompletionCreateParams["response_format"];
  format?: StructuredMode;
  signal?: AbortSignal;
  onCall?: (call: LlmCall) => void;
  onDelta?: (text: string) => void;
  /** Sent as `max_tokens` when set. */
  maxTokens?: number;
}

export interface ChatReply {
  content: string;
  tokensIn: number;
  tokensOut: number;
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
  const base = { model: req.model, messages: req.messages, ...(req.responseFormat ? { response_format: req.responseFormat } : {}), ...(req.maxTokens ? { max_tokens: req.maxTokens } : {}) };
  const opts = { signal: req.signal, timeout: s.timeoutMs, maxRetries: 0 };
  if (!req.onDelta) {
    const res = await client.chat.completions.create({ ...base, stream: false }, opts);
    return { content: res.choices[0]?.message?.content ?? "", tokensIn: res.usage?.prompt_tokens ?? 0, tokensOut: res.usage?.completion_tokens ?? 0 };
  }
  const stream = await client.chat.completions.create({ ...base, stream: true, stream_options: { include_usage: true } }, opts);
  let content = "";
  let tokensIn = 0;
  let tokensOut = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      content += delta;
      req.onDelta(delta);
    }
    if (chunk.usage) {
      tokensIn = chunk.usage.prompt_tokens;
      tokensOut = chunk.usage.completion_tokens;
    }
  }
  return { content, tokensIn, tokensOut };
}

export async function chat(client: OpenAI, s: ChatSettings, req: ChatRequest): Promise<ChatReply> {
  const hash = promptHash(req.model, req.messages);
  const total = s.maxRetries + 1;
  let last = "";
  for (let attempt = 1; attempt <= total; attempt++) {
    const started = performance.now();
    const report = (c: Partial<LlmCall>) =>
      req.onCall?.({ model: req.model, promptHash: hash, tokensIn: 0, tokensOut: 0, latencyMs: Math.round(performance.now() - started), attempt, ok: false, format: req.format, ...c });
    try {
      const reply = await attemptOnce(client, s, req);
      report({ ok: true, tokensIn: reply.tokensIn, tokensOut: reply.tokensOut });
      return reply;
    } catch (err) {
      const v = classify(err, req.signal);
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
