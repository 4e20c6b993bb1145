/**
 * The one LLM provider: an `openai` client pointed at any OpenAI-compatible base URL,
 * wrapped with our retry loop and structured-output fallback. Returns null when no base
 * URL is configured, so callers can answer model_not_configured. All settings come from
 * the caller; nothing here reads the environment.
 */
import OpenAI from "openai";
import type { ChatSettings } from "./chat";
import { chat } from "./chat";
import { describeProvider, normalBaseUrl } from "./provider";
import { limitedFetch, MODEL_REPLY_MAX_BYTES } from "./reply-limit";
import { Structured } from "./structured";
import type { Llm, LlmOptions, TextRequest } from "./types";

export function createLlm(opts: LlmOptions): Llm | null {
  const baseURL = normalBaseUrl(opts.baseURL);
  if (!baseURL) return null;
  const settings: ChatSettings = {
    timeoutMs: opts.timeoutMs ?? 120_000,
    maxRetries: opts.maxRetries ?? 2,
    retryBaseMs: opts.retryBaseMs ?? 500,
    retryMaxMs: opts.retryMaxMs ?? 8_000,
    retryAfterMaxMs: opts.retryAfterMaxMs ?? 60_000,
    provider: describeProvider(baseURL),
    observe: opts.observe,
  };
  const client = new OpenAI({
    baseURL,
    apiKey: opts.apiKey || "not-needed",
    // Explicit nulls stop the client from reading OPENAI_ORG_ID / OPENAI_PROJECT_ID.
    organization: null,
    project: null,
    timeout: settings.timeoutMs,
    maxRetries: 0,
    fetch: limitedFetch(MODEL_REPLY_MAX_BYTES),
  });
  const mode = opts.structuredOutput ?? "auto";
  const structured = new Structured(client, settings, mode === "auto" ? "json_schema" : mode);
  return {
    provider: settings.provider!,
    defaultModel: opts.model,
    json: (req) => structured.json(req, req.model ?? opts.model),
    async text(req: TextRequest) {
      const reply = await chat(client, settings, {
        model: req.model ?? opts.model,
        messages: [{ role: "system", content: req.system }, ...req.messages],
        maxTokens: req.maxTokens,
        signal: req.signal,
        onCall: req.onCall,
        onDelta: req.onDelta,
      });
      return reply.content;
    },
  };
}
