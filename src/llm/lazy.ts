/**
 * The model client the server starts with: the same `Llm` as `createLlm`, but the client
 * module (and the `openai` package under it, ~4 ms of loading) is loaded on the first model
 * call instead of at process start (issue 15, process start → first 2xx). A server with no
 * model configured never loads it.
 */
import { describeProvider, normalBaseUrl } from "./provider";
import type { Llm, LlmOptions } from "./types";

/**
 * Returns null when `opts.baseURL` is empty (no model configured), as `createLlm` does;
 * otherwise an `Llm` whose `provider` and `defaultModel` are known at once and whose
 * `json`/`text` make the real client (`createLlm(opts)`) on first use and delegate to it.
 * Errors are `createLlm`'s and the client's own.
 */
export function lazyLlm(opts: LlmOptions): Llm | null {
  const baseURL = normalBaseUrl(opts.baseURL);
  if (!baseURL) return null;
  let made: Promise<Llm> | null = null;
  const client = () => (made ??= import("./create").then(({ createLlm }) => createLlm(opts)!));
  return {
    provider: describeProvider(baseURL),
    defaultModel: opts.model,
    json: async (req) => (await client()).json(req),
    text: async (req) => (await client()).text(req),
  };
}
