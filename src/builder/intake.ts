/**
 * The intake schema (what the model returns at each conversation turn) and the review
 * schema; plus rendering structured asks into the compatible API's `questions[]` strings.
 */
import { Type as T, type Static } from "@sinclair/typebox";

// The bounds below are the model's, not a caller's: its words are stored in the
// conversation (message, history, failure) and returned on every read, so one verbose or
// hostile reply must not put megabytes there. A reply past them is re-asked with the errors.
export const Ask = T.Object({
  id: T.String({ minLength: 1, maxLength: 100 }),
  kind: T.Union([T.Literal("credential"), T.Literal("choice"), T.Literal("text")]),
  question: T.String({ minLength: 1, maxLength: 1000 }),
  options: T.Optional(T.Array(T.String({ maxLength: 200 }), { maxItems: 20 })),
});

export const Intake = T.Object({
  ready: T.Boolean(),
  message: T.String({ maxLength: 4000 }),
  asks: T.Array(Ask, { maxItems: 20 }),
  facts: T.Record(T.String({ maxLength: 100 }), T.String({ maxLength: 4000 }), { maxProperties: 50 }),
  name: T.Optional(T.String()),
});

export const Review = T.Object({
  passed: T.Boolean(),
  issues: T.Array(T.Object({ severity: T.Union([T.Literal("high"), T.Literal("medium"), T.Literal("low")]), message: T.String({ maxLength: 2000 }) }), { maxItems: 50 }),
});

export type Ask = Static<typeof Ask>;
/** A schedule converted from plain English (the `schedule` prompt). */
export const ScheduleConversion = T.Object({
  cron: T.Union([T.String({ minLength: 1, maxLength: 120 }), T.Null()]),
  timezone: T.Optional(T.Union([T.String({ maxLength: 64 }), T.Null()])),
});

export type Intake = Static<typeof Intake>;
export type Review = Static<typeof Review>;

export function renderQuestions(asks: Ask[]): string[] {
  return asks.map((a) => (a.options?.length ? `${a.question} (${a.options.join(" / ")})` : a.question));
}

/** Derives a name from a prompt when the user gave none. */
export function nameFromPrompt(prompt: string): string {
  const words = prompt
    .replace(/[^A-Za-z0-9 ]+/g, " ")
    .split(/\s+/)
    .filter((w) => w.length > 2 && !/^(the|and|for|with|that|this|every|from|into|then|them|my|our)$/i.test(w))
    .slice(0, 4);
  const name = words.map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()).join(" ");
  return name.length >= 2 ? name.slice(0, 60) : "New App";
}
