/**
 * The pipe protocol's framing, sidecar side: [u32 json length][u32 bytes length][JSON][bytes],
 * little-endian. Bodies travel as raw bytes (no base64), flagged by `b: 1` in the JSON so
 * an empty body and no body stay distinct. Mirrors src/runtime/v8/frames.ts.
 */
export function encodeFrame(msg, bytes) {
  const json = Buffer.from(JSON.stringify(bytes ? { ...msg, b: 1 } : msg));
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(json.length, 0);
  head.writeUInt32LE(bytes ? bytes.byteLength : 0, 4);
  return bytes ? Buffer.concat([head, json, Buffer.from(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength)]) : Buffer.concat([head, json]);
}

/** Feeds stream chunks, calls onFrame(msg, bytes | undefined) per complete frame. */
export function frameReader(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const jl = buf.readUInt32LE(0), bl = buf.readUInt32LE(4);
      if (buf.length < 8 + jl + bl) break;
      const msg = JSON.parse(buf.toString("utf8", 8, 8 + jl));
      const bytes = msg.b ? new Uint8Array(buf.buffer.slice(buf.byteOffset + 8 + jl, buf.byteOffset + 8 + jl + bl)) : undefined;
      buf = buf.subarray(8 + jl + bl);
      onFrame(msg, bytes);
    }
  };
}
