/**
 * Builder conversations: the state machine behind /api/v1/builder-agents.
 *   processing → gathering (message + questions) ⇄ answers → awaiting_approval
 *   (unless skip_approval) → approve → processing → deployed | failed; rebuild reopens
 *   deployed or failed. Every transition happens in one transaction together with the job
 *   that carries the next turn, so a restart mid-turn resumes from the queue.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import type { Db } from "../db";
import type { JobFailureCode } from "../jobs";
import { agents, conversations } from "../db/schema";
import { markFailed } from "../agents/lifecycle";
import { AppError } from "../errors";
import { newId } from "../lib/ids";
import { nameFromPrompt } from "./intake";
import { compositeCursor, pageOf, parseCompositeCursor, type Page } from "../lib/pagination";
import { iso } from "../lib/time";
import type { JobsPort } from "../http/jobs-port";
import { renderQuestions } from "./intake";

/** Rows strictly after the cursor in the list's order (createdAt desc, id desc). */
const after = (c: { n: number; id: string }) => or(lt(conversations.createdAt, c.n), and(eq(conversations.createdAt, c.n), lt(conversations.id, c.id)));

export type ConversationRow = typeof conversations.$inferSelect;
export type ConversationStatus = "processing" | "gathering" | "awaiting_approval" | "deployed" | "failed";

/** The calls each state allows (named in invalid_state errors). */
export const ALLOWED: Record<ConversationStatus, string[]> = {
  processing: [],
  gathering: ["answers"],
  awaiting_approval: ["approve"],
  deployed: ["rebuild"],
  failed: ["rebuild"],
};

export interface HistoryEntry {
  role: "user" | "builder" | "system";
  kind: string;
  message: string;
  at: number;
  data?: unknown;
}

export class Conversations {
  constructor(private deps: { db: Db; jobs: JobsPort; builderView: (agentId: string, c: ConversationRow) => Promise<unknown> }) {}

  create(workspaceId: string, input: { prompt: string; name?: string; skip_approval?: boolean; skip_review?: boolean }): Promise<ConversationRow> {
    const id = crypto.randomUUID();
    return this.deps.db.tx(async (tx) => {
      await tx.insert(conversations)
        .values({
          id,
          workspaceId,
          // Documented: "Auto-derived from the prompt if omitted" — at once, so no view ever shows "".
          name: input.name ?? nameFromPrompt(input.prompt),
          status: "processing",
          prompt: input.prompt,
          skipApproval: input.skip_approval ?? false,
          skipReview: input.skip_review ?? false,
          history: [entry("user", "prompt", input.prompt)],
        });
      const job = await this.deps.jobs.enqueueInTx(tx, "builder.turn", { conversationId: id, action: "intake" }, { workspaceId });
      return (await tx.update(conversations).set({ jobId: job.id }).where(eq(conversations.id, id)).returning())[0]!;
    });
  }

  async get(workspaceId: string, id: string): Promise<ConversationRow> {
    const row = (await this.deps.db.select().from(conversations).where(and(eq(conversations.id, id), eq(conversations.workspaceId, workspaceId))).limit(1))[0];
    if (!row) throw new AppError("conversation_not_found");
    return row;
  }

  async list(workspaceId: string, page: Page) {
    const rows = await this.deps.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.workspaceId, workspaceId), page.cursor ? after(parseCompositeCursor(page.cursor)) : undefined))
      .orderBy(desc(conversations.createdAt), desc(conversations.id))
      .limit(page.limit + 1);
    return pageOf(rows, page.limit, (r) => compositeCursor(r.createdAt, r.id));
  }

  answer(workspaceId: string, id: string, message: string): Promise<ConversationRow> {
    return this.transition(workspaceId, id, "answers", "gathering", (c) => ({
      history: [...c.history, entry("user", "answer", message)],
      action: "intake",
    }));
  }

  approve(workspaceId: string, id: string): Promise<ConversationRow> {
    return this.transition(workspaceId, id, "approve", "awaiting_approval", (c) => ({
      history: [...c.history, entry("user", "approve", "approved")],
      action: "build",
    }));
  }

  rebuild(workspaceId: string, id: string, message: string, replacePrompt: boolean): Promise<ConversationRow> {
    return this.transition(workspaceId, id, "rebuild", ["deployed", "failed"], (c) => ({
      history: [...c.history, entry("user", "rebuild", message, { replacePrompt, previousPrompt: c.prompt })],
      prompt: replacePrompt ? message : `${c.prompt}\n\nChange requested: ${message}`,
      action: "intake",
      reset: true,
    }));
  }

  async view(c: ConversationRow) {
    const status = c.status as ConversationStatus;
    return {
      uuid: c.id,
      name: c.name,
      status,
      prompt: c.prompt,
      message: c.message,
      questions: status === "gathering" ? renderQuestions(c.asks) : [],
      asks: status === "gathering" ? c.asks : [],
      builder: c.agentId && status === "deployed" ? await this.deps.builderView(c.agentId, c) : null,
      agent_id: c.agentId,
      review_passed: c.reviewPassed,
      qa_passed: c.qaPassed,
      skip_approval: c.skipApproval,
      skip_review: c.skipReview,
      rounds: c.rounds,
      allowed_calls: ALLOWED[status] ?? [],
      failure: c.failure ?? null,
      history: c.history.map((h) => ({ ...h, at: iso(h.at) })),
      created_at: iso(c.createdAt),
      updated_at: iso(c.updatedAt),
    };
  }

  private transition(
    workspaceId: string,
    id: string,
    call: string,
    from: ConversationStatus | ConversationStatus[],
    change: (c: ConversationRow) => { history: HistoryEntry[]; action: string; prompt?: string; reset?: boolean },
  ): Promise<ConversationRow> {
    const allowed = Array.isArray(from) ? from : [from];
    return this.deps.db.tx(async (tx) => {
      // Under the conversation's lock: two calls at once cannot both pass the state check.
      await tx.lock(`conversation:${id}`);
      const c = (await tx.select().from(conversations).where(and(eq(conversations.id, id), eq(conversations.workspaceId, workspaceId))).limit(1))[0];
      if (!c) throw new AppError("conversation_not_found");
      if (!allowed.includes(c.status as ConversationStatus)) {
        const allowedNow = ALLOWED[c.status as ConversationStatus] ?? [];
        throw new AppError("invalid_state", `Cannot ${call} while the conversation is ${c.status}; allowed now: ${allowedNow.length ? allowedNow.join(", ") : "none (wait for processing to finish)"}.`, {
          details: { state: c.status, allowed: allowedNow },
        });
      }
      const ch = change(c);
      const job = await this.deps.jobs.enqueueInTx(tx, "builder.turn", { conversationId: id, action: ch.action }, { workspaceId, agentId: c.agentId ?? undefined });
      return (await tx
        .update(conversations)
        .set({
          status: "processing",
          history: ch.history,
          jobId: job.id,
          updatedAt: Date.now(),
          ...(ch.prompt !== undefined ? { prompt: ch.prompt } : {}),
          ...(ch.reset ? { rounds: 0, asks: [], failure: null, reviewPassed: null, qaPassed: null } : {}),
        })
        .where(eq(conversations.id, id))
        .returning())[0]!;
    });
  }
}

/**
 * Ends a conversation that is `processing` but whose turn can no longer run: its job's
 * last attempt was stopped (timeout, cancel, shutdown) or the job is gone. It becomes
 * `failed` with `code` and `message`, so callers polling it stop waiting, and so does the
 * agent its build was generating; a conversation in any other state is left alone. Returns
 * true when it changed one.
 */
export function abandonConversation(db: Db, conversationId: string, code: JobFailureCode, message: string): Promise<boolean> {
  return db.tx(async (tx) => {
    await tx.lock(`conversation:${conversationId}`);
    const c = (await tx.select().from(conversations).where(eq(conversations.id, conversationId)).limit(1))[0];
    if (!c || c.status !== "processing") return false;
    await tx
      .update(conversations)
      .set({ status: "failed", message: `The build failed: ${message}`, failure: { code, message }, history: [...c.history, entry("builder", "failed", message)], updatedAt: Date.now() })
      .where(eq(conversations.id, c.id));
    // The agent its build was generating is not left "generating" either (a live one keeps serving).
    if (c.agentId) {
      const a = (await tx.select({ status: agents.status }).from(agents).where(eq(agents.id, c.agentId)).limit(1))[0];
      if (a && ["generating", "validating"].includes(a.status)) await markFailed(tx, c.agentId, { code, message });
    }
    return true;
  });
}

export function entry(role: HistoryEntry["role"], kind: string, message: string, data?: unknown): HistoryEntry {
  return { role, kind, message, at: Date.now(), ...(data === undefined ? {} : { data }) };
}
