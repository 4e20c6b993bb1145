/**
 * Pure helpers of the V8 sidecar's instances: failure classification from an engine
 * message, peeks at the prelude's response metadata (the host checks it properly, in
 * src/runtime/guest-values.ts), the heap size in MB, and the guest TextDecoder's conversion.
 */
const MiB = 1024 * 1024;

export function classify(message) {
  if (/memory limit|out of memory|allocation failed/i.test(message)) return "memory_limit";
  if (/timed out/i.test(message)) return "cpu_timeout";
  return "crashed";
}


/** The status in the prelude's metadata, or 0 when it has none (the host checks it properly). */
export function peekStatus(meta) {
  try {
    const s = meta === null ? 0 : JSON.parse(meta)?.status;
    return typeof s === "number" ? s : 0;
  } catch {
    return 0;
  }
}

/** True when the prelude's response metadata says a streamed body follows. */
export function metaSaysStream(meta) {
  try {
    return meta !== null && JSON.parse(meta)?.stream === true;
  } catch {
    return false;
  }
}

export const memoryMb = (bytes) => Math.max(8, Math.ceil(bytes / MiB));

/**
 * The guest TextDecoder's conversion on Node's TextDecoder (same contract as
 * src/runtime/web-bridge.ts TextDecoders.decode): bytes undefined → canonical name or null;
 * else the text, or null when fatal and invalid. flags: 1 fatal, 2 ignoreBOM, 4 stream.
 */
export function textDecode(streams, id, label, flags, bytes) {
  if (bytes === undefined || bytes === null) {
    try { return new TextDecoder(String(label)).encoding; } catch { return null; }
  }
  const stream = (flags & 4) !== 0;
  let d = id > 0 ? streams.get(id) : undefined;
  if (!d) {
    try { d = new TextDecoder(String(label), { fatal: (flags & 1) !== 0, ignoreBOM: (flags & 2) !== 0 }); } catch { return null; }
  }
  if (id > 0) {
    streams.delete(id);
    if (stream) {
      streams.set(id, d);
      if (streams.size > 64) streams.delete(streams.keys().next().value);
    }
  }
  try { return d.decode(new Uint8Array(bytes), { stream }); } catch { if (id > 0) streams.delete(id); return null; }
}
