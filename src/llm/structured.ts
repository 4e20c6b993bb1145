/**
 * Structured output: asks for JSON on the strongest rung the server accepts
 * (json_schema → json_object → plain text), stepping down once per rung when the server
 * refuses a rung (any 400 on a structured call) or answers it with nothing, and remembers
 * per model the rung that worked so later calls start there. It extracts JSON from whatever
 * text comes back (reasoning dropped; the last schema-valid object wins) and validates it
 * against the TypeBox schema. An invalid reply gets one corrective re-ask quoting the exact
 * errors; a second invalid reply is an LlmOutputError (`model_output_invalid`).
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type OpenAI from "openai";
import { AppError } from "../errors";
import { chat, FormatRejected, type ChatSettings } from "./chat";
import { extractJson } from "./extract";
import type { ChatMessage, JsonRequest, StructuredMode } from "./types";

const LADDER: StructuredMode[] = ["json_schema", "json_object", "none"];

/** Models whose accepted rung is remembered (most recently confirmed first kept). */
export const MAX_REMEMBERED = 64;

/** The model answered, but its reply stayed unusable after the corrective re-ask. */
export class LlmOutputError extends AppError {
  constructor(message: string, readonly errors: string[], readonly reply: string) {
    super("model_output_invalid", message, { details: { reason: "invalid_output", errors } });
  }
}

export function schemaErrors(schema: TSchema, value: unknown, max = 20): string[] {
  return [...Value.Errors(schema, value)].slice(0, max).map((e) => `${e.path || "/"}: ${e.message}`);
}

function responseFormat(mode: StructuredMode, name: string, schema: unknown): ChatRequestFormat {
  if (mode === "json_schema") return { type: "json_schema", json_schema: { name: safeName(name), schema: schema as Record<string, unknown>, strict: false } };
  if (mode === "json_object") return { type: "json_object" };
  return undefined;
}
type ChatRequestFormat = OpenAI.Chat.Completions.ChatCompletionCreateParams["response_format"];

/** OpenAI allows [a-zA-Z0-9_-]{1,64} for schema names. */
const safeName = (name: string) => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "result";

function instructions(system: string, schemaText: string): string {
  return `${system}\n\nReply with one JSON object only (no prose, no code fences) that matches this JSON Schema:\n${schemaText}`;
}

export class Structured {
  /**
   * The rung each model is known to accept (absent: start from the configured rung). Model
   * names come from callers (any string up to 256 characters per request), so the memory
   * keeps the MAX_REMEMBERED most recently confirmed; a forgotten model starts over at the
   * configured rung.
   */
  readonly accepted = new Map<string, StructuredMode>();

  constructor(
    private readonly client: OpenAI,
    private readonly settings: ChatSettings,
    private readonly start: StructuredMode,
  ) {}

  async json<T extends TSchema>(req: JsonRequest<T>, model: string): Promise<Static<T>> {
    // JSON round-trip drops TypeBox's symbol keys, leaving plain JSON Schema.
    const plain = JSON.parse(JSON.stringify(req.schema)) as unknown;
    const messages: ChatMessage[] = [{ role: "system", content: instructions(req.system, JSON.stringify(plain)) }, ...req.messages];
    let errors: string[] = [];
    let content = "";
    for (let round = 1; round <= 2; round++) {
      content = await this.ask(model, messages, req, plain);
      const parsed = extractJson(content, (v) => Value.Check(req.schema, Value.Default(req.schema, structuredClone(v))));
      if (parsed.ok) {
        const value = Value.Default(req.schema, parsed.value);
        if (Value.Check(req.schema, value)) return value as Static<T>;
        errors = schemaErrors(req.schema, value);
      } else errors = [parsed.error];
      messages.push(
        { role: "assistant", content },
        {
          role: "user",
          content: `Your reply could not be used:\n${errors.map((e) => `- ${e}`).join("\n")}\nReply again with only the corrected JSON object that matches the schema "${req.schemaName}".`,
        },
      );
    }
    throw new LlmOutputError(`The model's reply for ${req.schemaName} was not valid JSON for its schema after a corrective re-ask: ${errors.join("; ")}`, errors, content);
  }

  private async ask(model: string, messages: ChatMessage[], req: JsonRequest<TSchema>, plain: unknown): Promise<string> {
    let mode = this.accepted.get(model) ?? this.start;
    for (;;) {
      try {
        const reply = await chat(this.client, this.settings, {
          model,
          messages,
          format: mode,
          responseFormat: responseFormat(mode, req.schemaName, plain),
          maxTokens: req.maxTokens,
          signal: req.signal,
          onCall: req.onCall,
        });
        this.accepted.delete(model);
        this.accepted.set(model, mode);
        if (this.accepted.size > MAX_REMEMBERED) this.accepted.delete(this.accepted.keys().next().value!);
        return reply.content;
      } catch (e) {
        const next = LADDER[LADDER.indexOf(mode) + 1];
        if (!(e instanceof FormatRejected) || !next) {
          if (e instanceof FormatRejected) throw new AppError("model_unavailable", `The model server rejected the request: ${e.message}`, { cause: e });
          throw e;
        }
        // Only a rung that answers is remembered: one odd 400 must not downgrade the model for good.
        mode = next;
      }
    }
  }
}
