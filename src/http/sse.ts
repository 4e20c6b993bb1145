/**
 * Server-Sent Events for a job: replays events after Last-Event-ID, then pushes new ones
 * as they are written, and ends with `done` once the job is terminal. Subscribes before
 * reading the backlog so no event falls between the two. The job may run on another node
 * (cluster mode): the subscription follows it there (JobsPort.subscribe). A stopping server
 * (`stopping` aborted) ends the stream without `done`, so the client reconnects, with its
 * Last-Event-ID, to a server that is running.
 */
import { sseFrame } from "../generate/views";
import type { JobEventRow, JobsPort } from "./jobs-port";
import { TERMINAL } from "./jobs-port";

/** The job's events after `lastEventId` as an SSE response; `stopping` (optional) ends it early, without `done`. */
export async function jobEventStream(jobs: JobsPort, jobId: string, lastEventId: number, stopping?: AbortSignal): Promise<Response> {
  let unsubscribe = () => {};
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let endEarly = () => {};
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const enc = new TextEncoder();
      let last = lastEventId;
      let closed = false;
      const pending: JobEventRow[] = [];
      let replaying = true;
      const close = async () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
        stopping?.removeEventListener("abort", endEarly);
        const job = await jobs.get(jobId);
        controller.enqueue(enc.encode(`event: done\ndata: ${JSON.stringify({ status: job?.status ?? "unknown", progress: job?.progress ?? 0 })}\n\n`));
        controller.close();
      };
      const emit = (e: JobEventRow) => {
        if (closed || e.id <= last) return;
        last = e.id;
        controller.enqueue(enc.encode(sseFrame(e)));
        if (e.type === "status" && TERMINAL.has(String((e.data as { status?: string } | null)?.status ?? e.message))) close();
      };
      endEarly = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
        controller.close();
      };
      if (stopping?.aborted) return endEarly();
      stopping?.addEventListener("abort", endEarly, { once: true });
      unsubscribe = jobs.subscribe(jobId, (e) => (replaying ? pending.push(e) : emit(e)));
      controller.enqueue(enc.encode(`retry: 2000\n\n`));
      for (const e of await jobs.events(jobId, last)) emit(e);
      replaying = false;
      for (const e of pending) emit(e);
      if (!closed && TERMINAL.has((await jobs.get(jobId))?.status ?? "")) close();
      if (!closed) heartbeat = setInterval(() => {
        try {
          if (!closed) controller.enqueue(enc.encode(`: keep-alive\n\n`));
        } catch {
          // the client went away without a cancel: stop the heartbeat instead of throwing from a timer
          clearInterval(heartbeat);
        }
      }, 15_000);
    },
    cancel() {
      unsubscribe();
      clearInterval(heartbeat);
      stopping?.removeEventListener("abort", endEarly);
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" },
  });
}
