/**
 * Guest side, evaluated in every V8 isolate before the prelude: turns the sidecar's
 * callbacks ($log, $random, $textDecode, $call, $done) into the `__cantripHost` object the prelude
 * captures, with UTF-8 encode/decode in plain JS (no host round trip), and leaves
 * `__cantripV8Finish` — run after the prelude — which takes the prelude's entry, hides every
 * global the guest must not see, and returns the control object the sidecar drives.
 */
(() => {
  const g = globalThis;
  const $log = g.$log, $random = g.$random, $call = g.$call, $done = g.$done, $textDecode = g.$textDecode;
  for (const k of ["$log", "$random", "$call", "$done", "$textDecode"]) delete g[k];
  // V8 hands Error.prepareStackTrace the raw call sites (getThis, getFunction): pin it so a
  // guest cannot install one; stacks stay plain strings, as in QuickJS.
  Object.defineProperty(Error, "prepareStackTrace", { get: () => undefined, set: () => {}, configurable: false, enumerable: false });
  const pending = new Map();
  let nextHid = 1;

  function encode(s) {
    const out = new Uint8Array(s.length * 3);
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
        else c = 0xfffd;
      } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out[n++] = c;
      else if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); }
      else if (c < 0x10000) { out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
      else { out[n++] = 0xf0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
    }
    return out.slice(0, n).buffer;
  }

  // The Encoding standard's UTF-8 decoder (replacement mode): one U+FFFD per maximal
  // invalid subpart, so the result matches every other WHATWG TextDecoder byte for byte.
  function decode(buf) {
    const b = new Uint8Array(buf);
    let s = "", chunk = [];
    let cp = 0, need = 0, seen = 0, lower = 0x80, upper = 0xbf;
    const start = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0; // a UTF-8 BOM is dropped, as TextDecoder() does
    const push = (c) => {
      if (c >= 0x10000) { c -= 0x10000; chunk.push(0xd800 + (c >> 10), 0xdc00 + (c & 1023)); }
      else chunk.push(c);
      if (chunk.length >= 8192) { s += String.fromCharCode.apply(null, chunk); chunk = []; }
    };
    for (let i = start; i < b.length; i++) {
      const x = b[i];
      if (need === 0) {
        if (x < 0x80) push(x);
        else if (x >= 0xc2 && x <= 0xdf) { need = 1; cp = x & 0x1f; }
        else if (x >= 0xe0 && x <= 0xef) { if (x === 0xe0) lower = 0xa0; if (x === 0xed) upper = 0x9f; need = 2; cp = x & 0xf; }
        else if (x >= 0xf0 && x <= 0xf4) { if (x === 0xf0) lower = 0x90; if (x === 0xf4) upper = 0x8f; need = 3; cp = x & 0x7; }
        else push(0xfffd);
        continue;
      }
      if (x < lower || x > upper) {
        cp = need = seen = 0; lower = 0x80; upper = 0xbf;
        push(0xfffd);
        i--; // reprocess this byte
        continue;
      }
      lower = 0x80; upper = 0xbf;
      cp = (cp << 6) | (x & 0x3f);
      if (++seen === need) { push(cp); cp = need = seen = 0; }
    }
    if (need !== 0) push(0xfffd);
    return s + String.fromCharCode.apply(null, chunk);
  }

  g.__cantripHost = {
    log: (level, message) => $log(String(level), String(message)),
    random: (n) => $random(n | 0),
    encode: (s) => encode(String(s)),
    decode: (b) => decode(b),
    textDecode: (id, label, flags, bytes) => $textDecode(id, String(label), flags, bytes instanceof ArrayBuffer ? bytes : undefined),
    call(op, args, body) {
      const hid = nextHid++;
      return new Promise((resolve, reject) => {
        pending.set(hid, { resolve, reject });
        $call(hid, String(op), String(args), body instanceof ArrayBuffer ? body : undefined);
      });
    },
  };

  const errText = (e) => (e && typeof e === "object" ? `${e.name ?? "Error"}: ${e.message ?? ""}${e.stack ? `\n${e.stack}` : ""}` : String(e));

  Object.defineProperty(g, "__cantripV8Finish", {
    configurable: true,
    value: () => {
      const entry = g.__cantripEntry;
      delete g.__cantripEntry;
      delete g.__cantripSdk;
      delete g.__cantripV8Finish;
      let backend;
      const report = (id, p) => p.then((r) => $done(id, true, r[0], r[1] ?? null), (e) => $done(id, false, errText(e), null));
      return {
        configure: (json) => entry.configure(json),
        setBackend(ns) {
          backend = ns.default;
          return entry.describe(backend);
        },
        start: (id, meta, body) => report(id, entry.dispatch(backend, meta, body ?? undefined)),
        scheduled: (id) => report(id, entry.scheduled(backend).then(() => ["", null])),
        settle(hid, ok, json, bytes) {
          const p = pending.get(hid);
          if (!p) return;
          pending.delete(hid);
          if (ok) p.resolve([json, bytes ?? undefined]);
          else p.reject(new Error(json));
        },
      };
    },
  });
})();
