/**
 * The vocabulary of the fake OpenAI-compatible server: scripted steps, the record of each
 * call, and how a step becomes a chat-completion body (non-streaming JSON or SSE chunks).
 * Kept apart from the HTTP plumbing so a test reading a failing assertion can see exactly
 * what the fake would have sent.
 */

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** One scripted answer. A step is consumed by exactly one HTTP call. */
export type Step =
  | { content: string; usage?: Partial<Usage>; delayMs?: number; finishReason?: string }
  | { json: unknown; usage?: Partial<Usage>; delayMs?: number }
  | { status: number; retryAfter?: number; message?: string; body?: unknown; delayMs?: number }
  | { hang: true }
  | { rejectResponseFormat: true }
  /** Replays a response byte for byte, as a real server sent it (status default 200). */
  | { raw: RawResponse; delayMs?: number };

/** A recorded HTTP response: status, headers and the exact body (a string is sent as UTF-8). */
export interface RawResponse {
  status?: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

/** A chat.completion body with the given message fields and finish_reason (for raw replays). */
export function rawCompletion(message: Record<string, unknown>, finishReason: string | null = "stop", extra: Record<string, unknown> = {}): RawResponse {
  return {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: "chatcmpl-raw",
      object: "chat.completion",
      created: 0,
      model: "fake-model",
      choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finishReason, logprobs: null }],
      usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
      ...extra,
    }),
  };
}

export interface RecordedMessage {
  role: string;
  content: string;
}

export interface RecordedCall {
  /** 1-based order of arrival. */
  n: number;
  at: number;
  model: string;
  messages: RecordedMessage[];
  /** The system prompt (first system message), "" when absent. */
  system: string;
  /** The last user message, "" when absent. */
  lastUser: string;
  response_format: { type: string; json_schema?: { name: string; schema: unknown; strict?: boolean } } | undefined;
  stream: boolean;
  authorization: string | null;
  body: Record<string, unknown>;
  /** What the fake answered: the step kind plus the HTTP status. */
  answered?: { kind: string; status: number };
}

export function stepKind(s: Step): string {
  if ("hang" in s) return "hang";
  if ("rejectResponseFormat" in s) return "rejectResponseFormat";
  if ("raw" in s) return `raw:${s.raw.status ?? 200}`;
  if ("status" in s) return `status:${s.status}`;
  if ("json" in s) return "json";
  return "content";
}

export function stepContent(s: Step): string | undefined {
  if ("json" in s) return JSON.stringify(s.json);
  if ("content" in s) return s.content;
  return undefined;
}

const estimate = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export function usageFor(call: RecordedCall, content: string, override?: Partial<Usage>): Usage & { total_tokens: number } {
  const prompt = override?.prompt_tokens ?? estimate(call.messages.map((m) => m.content).join("\n"));
  const completion = override?.completion_tokens ?? estimate(content);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function completionBody(call: RecordedCall, content: string, usage: Usage & { total_tokens: number }, finishReason = "stop") {
  return {
    id: `chatcmpl-fake-${call.n}`,
    object: "chat.completion",
    created: Math.floor(call.at / 1000),
    model: call.model,
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: finishReason, logprobs: null }],
    usage,
  };
}

/** SSE frames for a streamed completion: role, content in a few pieces, finish, usage, [DONE]. */
export function streamFrames(call: RecordedCall, content: string, usage: Usage & { total_tokens: number }, finishReason = "stop"): string[] {
  const base = { id: `chatcmpl-fake-${call.n}`, object: "chat.completion.chunk", created: Math.floor(call.at / 1000), model: call.model };
  const chunk = (delta: object, finish: string | null) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const frames = [chunk({ role: "assistant", content: "" }, null)];
  const size = Math.max(1, Math.ceil(content.length / 3));
  for (let i = 0; i < content.length; i += size) frames.push(chunk({ content: content.slice(i, i + size) }, null));
  frames.push(chunk({}, finishReason));
  const includeUsage = (call.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  const out = frames.map((f) => `data: ${JSON.stringify(f)}\n\n`);
  if (includeUsage) out.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  out.push("data: [DONE]\n\n");
  return out;
}

export function errorBody(status: number, message: string, type = "invalid_request_error", param: string | null = null) {
  return { error: { message, type, param, code: null, status } };
}
