/**
 * Host side, engine-neutral: turns a guest's streamed response body (an engine's pull /
 * cancel pair for one open call) into the `ReadableStream` the HTTP layer sends, with the
 * host's bounds. Backpressure: the stream pulls from the guest only while less than
 * STREAM_BUFFER_BYTES wait in its queue (the client reads slowly → the guest's reader is
 * not read → its `pull` is not called). Every chunk passes guest-values.ts acceptChunk
 * (bytes, within the agent's responseBytes in total). Time: the call's wall limit covers
 * the whole stream, counted from the call's start; at the deadline the body is cut. A cut
 * (client gone, limit, guest error, deadline, engine failure) cancels the guest's stream
 * and ends the call; `finished` then reports why, with the call's logs and totals.
 */
import type { GuestLogLine, GuestResponse, GuestStreamResponse, Limits, StreamCutReason, StreamEnd } from "./types";
import { acceptChunk, acceptLogs, type RawStreamChunk } from "./guest-values";
import { failureLogs, failureReason } from "./failures";

/** Bytes the host queues per streamed call before it stops pulling from the guest. */
export const STREAM_BUFFER_BYTES = 1024 * 1024;

/** One open streamed call, as an engine drives it. Both reject only with platform failures (AppError). */
export interface GuestBodySource {
  /** The guest's next step: a chunk, the end, or its stream's error (the last two end the call). */
  pull(): Promise<RawStreamChunk>;
  /** Cancels the guest's stream with `reason` and ends the call; resolves with its final logs and timings. */
  cancel(reason: string): Promise<RawStreamChunk>;
}

/**
 * The engine-independent part of an engine's fetchStream. `head` checks the call's first
 * reply (acceptHead, through the engine's own failure handling); a reply that carries the
 * whole body is returned as it is, one that opens a stream is wrapped around `source`.
 * `release` runs exactly once, when the call is over: at once if the head is refused or
 * carries the whole body, else when the stream has finished.
 */
export function openGuestStream(
  head: () => { response: GuestResponse; stream: boolean },
  source: GuestBodySource,
  limits: Limits,
  startedAt: number,
  release: () => void,
): GuestResponse | GuestStreamResponse {
  let h: { response: GuestResponse; stream: boolean };
  try {
    h = head();
  } catch (e) {
    release();
    throw e;
  }
  if (!h.stream) {
    release();
    return h.response;
  }
  const out = streamGuestBody(source, h.response, limits, startedAt);
  void out.finished.then(release);
  return out;
}

/**
 * Wraps `source` (the call that produced `head`, started at epoch ms `startedAt`) as a
 * GuestStreamResponse. `finished` never rejects.
 */
export function streamGuestBody(source: GuestBodySource, head: GuestResponse, limits: Limits, startedAt: number): GuestStreamResponse {
  let sent = 0;
  let over = false;
  let resolveEnd!: (e: StreamEnd) => void;
  const finished = new Promise<StreamEnd>((r) => (resolveEnd = r));
  const last: { logs: GuestLogLine[]; cpuMs: number; wallMs: number } = { logs: head.logs, cpuMs: head.cpuMs, wallMs: head.wallMs };
  const note = (raw: RawStreamChunk | undefined, err?: unknown) => {
    const logs = raw ? acceptLogs(raw.logs, limits) : failureLogs(err);
    if (logs.length) last.logs = logs;
    if (raw && typeof raw.cpuMs === "number" && Number.isFinite(raw.cpuMs) && raw.cpuMs >= 0) last.cpuMs = raw.cpuMs;
    if (raw && typeof raw.wallMs === "number" && Number.isFinite(raw.wallMs) && raw.wallMs >= 0) last.wallMs = raw.wallMs;
  };
  const end = (cut?: { reason: StreamCutReason; message: string }) => {
    clearTimeout(timer);
    resolveEnd({ bytes: sent, ...last, ...(cut ? { cut } : {}) });
  };
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  /** A cut decided here (the guest is still running): error the body, cancel the guest's stream, end. */
  const stop = async (reason: StreamCutReason, message: string) => {
    if (over) return;
    over = true;
    try {
      ctl.error(new Error(message));
    } catch {} // already cancelled by the client
    try {
      note(await source.cancel(message));
    } catch (e) {
      note(undefined, e);
    }
    end({ reason, message });
  };
  const timer = setTimeout(
    () => void stop("wall_timeout", `The streamed response was cut at the call's wall-clock limit of ${limits.wallMs} ms.`),
    Math.max(0, startedAt + limits.wallMs - Date.now()),
  );
  timer.unref?.();

  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        ctl = c;
      },
      async pull(c) {
        // Loop past empty chunks: a pull that enqueues nothing is not called again.
        while (!over) {
          let raw: RawStreamChunk;
          try {
            raw = await source.pull();
          } catch (e) {
            // A platform failure (CPU, memory, crash): the engine has already ended the call.
            if (over) return;
            over = true;
            note(undefined, e);
            const message = e instanceof Error ? e.message : String(e);
            c.error(new Error(message));
            return end({ reason: failureReason(e) ?? "crashed", message });
          }
          if (over) return;
          let step: ReturnType<typeof acceptChunk>;
          try {
            step = acceptChunk(raw, sent, limits);
          } catch (e) {
            return stop("bad_response", (e as Error).message);
          }
          if (step.kind === "end") {
            over = true;
            note(raw);
            c.close();
            return end();
          }
          if (step.kind === "error") {
            over = true;
            note(raw);
            const message = `The backend's response stream failed: ${step.message}`;
            c.error(new Error(message));
            return end({ reason: "stream_error", message });
          }
          if (step.bytes.byteLength === 0) continue;
          sent += step.bytes.byteLength;
          c.enqueue(step.bytes);
          return;
        }
      },
      cancel() {
        return stop("client_closed", "The client closed the connection before the streamed response ended.");
      },
    },
    { highWaterMark: STREAM_BUFFER_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
  );
  return { status: head.status, headers: head.headers, body, finished };
}
