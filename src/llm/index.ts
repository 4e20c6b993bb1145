/**
 * The LLM capability: one provider over the `openai` package for OpenAI and any
 * OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp), with structured output
 * that falls back gracefully, our own logged retries, and reply-extraction helpers.
 */
export { createLlm } from "./create";
export { describeProvider } from "./provider";
export { extractCode, extractJson, type Extracted } from "./extract";
export { LlmOutputError, schemaErrors } from "./structured";
export { promptHash } from "./chat";
export type { CallOptions, ChatMessage, JsonRequest, Llm, LlmCall, LlmOptions, ProviderKind, StructuredMode, TextRequest } from "./types";
