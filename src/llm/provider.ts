/**
 * A model server's base URL, normalised, and the kind of server behind it, for the job's
 * `provider` field and for log lines. The kind is a heuristic: api.openai.com is OpenAI, port 11434 or "ollama" in the host is
 * Ollama, anything else is a generic OpenAI-compatible server (vLLM, LM Studio, llama.cpp).
 */
import type { ProviderKind } from "./types";

/** The base URL as the client is given it: trimmed, without trailing slashes; "" means no model is configured. */
export function normalBaseUrl(raw: string): string {
  return raw.trim().replace(/\/+$/, "");
}

export function describeProvider(baseURL: string): ProviderKind {
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    return "compatible";
  }
  const host = url.hostname.toLowerCase();
  if (host === "api.openai.com" || host.endsWith(".openai.com")) return "openai";
  if (url.port === "11434" || host.includes("ollama")) return "ollama";
  return "compatible";
}
