/**
 * A fake OpenAI-compatible server over real HTTP (Bun.serve on a random loopback port), so
 * tests exercise the real `openai` client end to end. Answers come from a queue of scripted
 * steps, then from an optional responder that inspects the request (e.g. a marker in the
 * system prompt); with neither, the call gets a 400 that names the problem. Every call is
 * recorded for assertions. `rejects` makes the server behave like a local server that does
 * not understand some response_format types, without consuming steps. A `raw` step replays
 * any response (status, headers, bytes) exactly as a real server sent it.
 */
import {
  completionBody,
  errorBody,
  stepContent,
  stepKind,
  streamFrames,
  usageFor,
  type RecordedCall,
  type RecordedMessage,
  type Step,
} from "./fake-openai-steps";

export type { RawResponse, RecordedCall, Step } from "./fake-openai-steps";
export { rawCompletion } from "./fake-openai-steps";

export type Responder = (call: RecordedCall) => Step | undefined;

export interface FakeOpenAIOptions {
  /** response_format types answered with 400 "response_format ... not supported". */
  rejects?: ("json_schema" | "json_object")[];
  models?: string[];
}

export interface FakeOpenAI {
  /** Base URL ending in /v1, as the openai client expects. */
  url: string;
  /** Appends steps to the queue (consumed first, in order). */
  script(...steps: Step[]): void;
  /** Answers calls once the queue is empty; return undefined to fall through to the 400. */
  respond(responder: Responder | undefined): void;
  calls: RecordedCall[];
  /** Steps still queued. */
  pending(): number;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === "object" && "text" in p ? String(p.text) : "")).join("");
  return "";
}

function record(n: number, body: Record<string, unknown>, req: Request): RecordedCall {
  const messages: RecordedMessage[] = Array.isArray(body.messages)
    ? body.messages.map((m: { role?: unknown; content?: unknown }) => ({ role: String(m.role), content: textOf(m.content) }))
    : [];
  return {
    n,
    at: Date.now(),
    model: String(body.model ?? ""),
    messages,
    system: messages.find((m) => m.role === "system")?.content ?? "",
    lastUser: [...messages].reverse().find((m) => m.role === "user")?.content ?? "",
    response_format: body.response_format as RecordedCall["response_format"],
    stream: body.stream === true,
    authorization: req.headers.get("authorization"),
    body,
  };
}

export function startFakeOpenAI(opts: FakeOpenAIOptions = {}): FakeOpenAI {
  const queue: Step[] = [];
  const calls: RecordedCall[] = [];
  let responder: Responder | undefined;
  let release!: () => void;
  const stopped = new Promise<void>((r) => (release = r));

  async function answer(call: RecordedCall, req: Request): Promise<Response> {
    const rf = call.response_format?.type;
    if (rf && opts.rejects?.includes(rf as "json_schema")) {
      call.answered = { kind: "rejects", status: 400 };
      return json(400, errorBody(400, `response_format type '${rf}' is not supported by this server`, "invalid_request_error", "response_format"));
    }
    const step = queue.shift() ?? responder?.(call);
    if (!step) {
      call.answered = { kind: "unscripted", status: 400 };
      return json(400, errorBody(400, `fake-openai: no step scripted for call #${call.n}`));
    }
    const kind = stepKind(step);
    if ("hang" in step) {
      call.answered = { kind, status: 0 };
      await Promise.race([stopped, new Promise<void>((r) => req.signal.addEventListener("abort", () => r()))]);
      return json(503, errorBody(503, "fake-openai stopped while hanging", "server_error"));
    }
    if ("delayMs" in step && step.delayMs) await sleep(step.delayMs);
    if ("rejectResponseFormat" in step) {
      call.answered = { kind, status: 400 };
      return json(400, errorBody(400, "response_format is not supported", "invalid_request_error", "response_format"));
    }
    if ("raw" in step) {
      call.answered = { kind, status: step.raw.status ?? 200 };
      return new Response(step.raw.body as BodyInit, { status: step.raw.status ?? 200, headers: step.raw.headers ?? { "content-type": "application/json" } });
    }
    if ("status" in step) {
      call.answered = { kind, status: step.status };
      const headers: Record<string, string> = step.retryAfter === undefined ? {} : { "retry-after": String(step.retryAfter) };
      return json(step.status, step.body ?? errorBody(step.status, step.message ?? `fake-openai scripted ${step.status}`, "server_error"), headers);
    }
    const content = stepContent(step) ?? "";
    const usage = usageFor(call, content, "usage" in step ? step.usage : undefined);
    const finish = "finishReason" in step ? step.finishReason : undefined;
    call.answered = { kind, status: 200 };
    if (!call.stream) return json(200, completionBody(call, content, usage, finish));
    const frames = streamFrames(call, content, usage, finish);
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const f of frames) {
          controller.enqueue(enc.encode(f));
          await sleep(1);
        }
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/v1/models") {
        const models = opts.models ?? ["fake-model"];
        return json(200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" })) });
      }
      if (req.method === "POST" && path === "/v1/chat/completions") {
        let body: Record<string, unknown>;
        try {
          body = (await req.json()) as Record<string, unknown>;
        } catch {
          return json(400, errorBody(400, "body is not JSON"));
        }
        const call = record(calls.length + 1, body, req);
        calls.push(call);
        return answer(call, req);
      }
      return json(404, errorBody(404, `fake-openai: no route ${req.method} ${path}`));
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    script: (...steps) => void queue.push(...steps),
    respond: (r) => void (responder = r),
    calls,
    pending: () => queue.length,
    async stop() {
      release();
      await server.stop(true);
    },
  };
}
