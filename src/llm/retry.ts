/**
 * Decides what to do with a failed model call: retry (429, 5xx, timeouts, connection
 * errors, and error bodies inside an HTTP 200 that carry those codes; honouring
 * Retry-After), fall back to a weaker response_format (any 400/422 on a structured call:
 * servers word their refusals differently — llama.cpp says "JSON schema conversion failed",
 * Ollama and vLLM other things — so the shape decides, not the phrase), stop because the
 * caller aborted, or give up. The openai client's own retries are off so each attempt is
 * visible in the job log.
 */
import { APIConnectionError, APIError, APIUserAbortError } from "openai";
import { ProviderReplyError } from "./reply";

export type Verdict =
  | { kind: "retry"; status?: number; retryAfterMs?: number; message: string }
  | { kind: "format_rejected"; status: number; message: string }
  | { kind: "abort"; message: string }
  | { kind: "fatal"; status?: number; message: string };

export function parseRetryAfter(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get("retry-after");
  if (!raw) return undefined;
  const secs = Number(raw);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const transient = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** `structured`: the call carried a response_format, so a 400/422 means "not this rung". */
export function classify(err: unknown, signal?: AbortSignal, structured = false): Verdict {
  // A model server's error text (the client quotes its body) is logged per attempt: keep an excerpt.
  const full = err instanceof Error ? err.message : String(err);
  const message = full.length > 500 ? `${full.slice(0, 500)}… (${full.length} characters)` : full;
  if (signal?.aborted || err instanceof APIUserAbortError) return { kind: "abort", message: "aborted by the caller" };
  // APIConnectionTimeoutError is a subclass of APIConnectionError.
  if (err instanceof APIConnectionError) return { kind: "retry", message };
  if (err instanceof ProviderReplyError) {
    if (err.status === undefined || transient(err.status)) return { kind: "retry", status: err.status, message };
    return { kind: "fatal", status: err.status, message };
  }
  if (err instanceof APIError) {
    const status = err.status;
    if (status === undefined) return { kind: "retry", message };
    if ((status === 400 || status === 422) && structured) return { kind: "format_rejected", status, message };
    if (transient(status))
      return { kind: "retry", status, message, retryAfterMs: parseRetryAfter(err.headers) };
    return { kind: "fatal", status, message };
  }
  // fetch failures that escaped the client, stream parse errors, and the like.
  if (err instanceof TypeError || /ECONNRE|socket|network|terminated/i.test(message)) return { kind: "retry", message };
  return { kind: "fatal", message };
}

/** Exponential backoff with a little jitter so concurrent jobs do not retry in lockstep. */
export function backoffMs(retry: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** (retry - 1));
  return Math.round(exp * (0.8 + Math.random() * 0.2));
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): Error {
  const r = signal.reason;
  return r instanceof Error ? r : new DOMException(typeof r === "string" ? r : "The operation was aborted.", "AbortError");
}
