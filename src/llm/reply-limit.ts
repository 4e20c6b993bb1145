/**
 * The byte limit on a model server's answer. The `openai` client buffers a whole
 * non-streamed body before parsing it, so a server that answers with hundreds of megabytes
 * (or never stops a stream) would grow the process without bound (threat model, promises
 * 1 and 7). `limitedFetch` wraps the client's fetch: a body whose Content-Length is over
 * the limit is refused before it is read, any other is counted as it arrives and the
 * connection is cut at the limit. Either way the call fails with `model_output_invalid`
 * (details.reason "too_large"), which the retry loop does not repeat.
 */
import { AppError } from "../errors";

/**
 * Bytes one model answer may take on the wire: 8 MiB. The largest reply cantrip asks for is
 * 8192 tokens (MAX_TOKENS in src/generate/pipeline.ts), a few tens of kilobytes of text
 * even with the server's reasoning and JSON escaping; the limit leaves two orders of
 * magnitude of headroom.
 */
export const MODEL_REPLY_MAX_BYTES = 8 * 1024 * 1024;

/** A model answer over the byte limit: the model output was unusable, not the server unreachable. */
export class ReplyTooLarge extends AppError {
  constructor(limit: number, declared?: number) {
    super(
      "model_output_invalid",
      `The model server's reply was larger than ${limit} bytes${declared ? ` (it declared ${declared})` : ""}; it was cut off unread. Check the server and the model's max_tokens.`,
      { details: { reason: "too_large", limitBytes: limit } },
    );
  }
}

/** A fetch for the `openai` client that refuses or cuts response bodies past `limit` bytes. */
export function limitedFetch(limit: number, inner: typeof fetch = fetch): typeof fetch {
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const res = await inner(input, init);
    const declared = Number(res.headers.get("content-length") ?? "");
    if (Number.isFinite(declared) && declared > limit) {
      await res.body?.cancel().catch(() => {});
      throw new ReplyTooLarge(limit, declared);
    }
    if (!res.body) return res;
    let total = 0;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          total += chunk.byteLength;
          if (total > limit) controller.error(new ReplyTooLarge(limit));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return Object.assign(wrapped, { preconnect: inner.preconnect }) as typeof fetch;
}
