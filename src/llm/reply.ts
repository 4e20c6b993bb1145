/**
 * The one place a model server's chat-completion body becomes a typed reply. Real servers
 * answer in odd ways, and each is recognised here by its shape, not by its wording:
 * - an error object inside an HTTP 200 (OpenRouter and other routers: `{"error":{"message",
 *   "code"}}` with no `choices`) → ProviderReplyError with the provider's own code, which
 *   the retry policy treats like that HTTP status;
 * - the answer outside `content` (vLLM with a reasoning parser puts guided JSON in
 *   `reasoning_content`; others use `reasoning`) → read from there when `content` is empty;
 * - `finish_reason` "length" (Ollama cuts at its context size) and "content_filter"
 *   (Azure) → kept, so the caller can fail with a specific code instead of parsing half a
 *   module or reporting an empty reply.
 */

/** Why generation stopped, as OpenAI-compatible servers report it (null when not reported). */
export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls" | "function_call" | (string & {}) | null;

export interface ReplyParts {
  content: string;
  /** Text the server put in a reasoning field (`reasoning_content` / `reasoning`). */
  reasoning: string;
  finishReason: FinishReason;
}

/** A provider's error delivered inside a successful HTTP response (or an SSE chunk). */
export class ProviderReplyError extends Error {
  constructor(message: string, readonly status: number | undefined) {
    super(message);
    this.name = "ProviderReplyError";
  }
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** The HTTP-like status an error object carries (`code: 502`, `status: 429`, `code: "502"`), if any. */
function statusIn(error: Record<string, unknown>): number | undefined {
  for (const v of [error.code, error.status, error.status_code]) {
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d{3}$/.test(v) ? Number(v) : NaN;
    if (Number.isInteger(n) && n >= 100 && n <= 599) return n;
  }
  return undefined;
}

/** Throws ProviderReplyError when `body` is an error object rather than a completion. */
export function throwIfErrorBody(body: unknown, what = "reply"): void {
  if (!body || typeof body !== "object") throw new ProviderReplyError(`the model server's ${what} was not a JSON object`, 502);
  const error = (body as { error?: unknown }).error;
  if (error === undefined || error === null) return;
  if (typeof error === "object") {
    const e = error as Record<string, unknown>;
    // The server's words go into job logs and error messages: an excerpt, however long they were.
    const message = (str(e.message) || JSON.stringify(e)).slice(0, 500);
    throw new ProviderReplyError(`the model server answered with an error: ${message}`, statusIn(e));
  }
  throw new ProviderReplyError(`the model server answered with an error: ${String(error).slice(0, 500)}`, undefined);
}

/** Reads one non-streamed chat completion; throws ProviderReplyError for error bodies and bodies without choices. */
export function readCompletion(body: unknown): ReplyParts {
  throwIfErrorBody(body);
  const choices = (body as { choices?: unknown }).choices;
  const first = Array.isArray(choices) ? (choices[0] as Record<string, unknown> | undefined) : undefined;
  if (!first || typeof first !== "object") throw new ProviderReplyError("the model server's reply had no choices", 502);
  const message = (first.message ?? {}) as Record<string, unknown>;
  return {
    content: str(message.content),
    reasoning: str(message.reasoning_content) || str(message.reasoning),
    finishReason: typeof first.finish_reason === "string" ? first.finish_reason : null,
  };
}

/** Accumulates streamed chunks into the same parts; `delta` returns the new content text, if any. */
export class StreamedReply implements ReplyParts {
  content = "";
  reasoning = "";
  finishReason: FinishReason = null;

  delta(chunk: unknown): string {
    throwIfErrorBody(chunk, "stream chunk");
    const choices = (chunk as { choices?: unknown }).choices;
    const first = Array.isArray(choices) ? (choices[0] as Record<string, unknown> | undefined) : undefined;
    if (!first) return "";
    if (typeof first.finish_reason === "string") this.finishReason = first.finish_reason;
    const d = (first.delta ?? {}) as Record<string, unknown>;
    this.reasoning += str(d.reasoning_content) || str(d.reasoning);
    const text = str(d.content);
    this.content += text;
    return text;
  }
}
