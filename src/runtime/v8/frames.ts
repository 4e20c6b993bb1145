/**
 * The pipe protocol's framing, host side: [u32 json length][u32 bytes length][JSON][bytes],
 * little-endian. Request and response bodies travel as raw bytes beside the JSON (no
 * base64), flagged by `b: 1` so an empty body and no body stay distinct. Mirrors
 * sandbox/v8-sidecar/frames.mjs.
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeFrame(msg: object, bytes?: Uint8Array): Uint8Array {
  const json = enc.encode(JSON.stringify(bytes ? { ...msg, b: 1 } : msg));
  const blen = bytes?.byteLength ?? 0;
  const out = new Uint8Array(8 + json.byteLength + blen);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.byteLength, true);
  view.setUint32(4, blen, true);
  out.set(json, 8);
  if (bytes) out.set(bytes, 8 + json.byteLength);
  return out;
}

/** Feeds stream chunks; calls onFrame once per complete frame. */
export function frameReader(onFrame: (msg: { t: string; b?: 1 } & Record<string, unknown>, bytes: Uint8Array | undefined) => void): (chunk: Uint8Array) => void {
  let buf: Uint8Array = new Uint8Array(0);
  return (chunk) => {
    if (buf.byteLength) {
      const joined = new Uint8Array(buf.byteLength + chunk.byteLength);
      joined.set(buf);
      joined.set(chunk, buf.byteLength);
      buf = joined;
    } else buf = chunk;
    while (buf.byteLength >= 8) {
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const jl = view.getUint32(0, true);
      const bl = view.getUint32(4, true);
      if (buf.byteLength < 8 + jl + bl) break;
      const msg = JSON.parse(dec.decode(buf.subarray(8, 8 + jl)));
      const bytes = msg.b ? buf.slice(8 + jl, 8 + jl + bl) : undefined;
      buf = buf.subarray(8 + jl + bl);
      onFrame(msg, bytes);
    }
  };
}
