/**
 * Guest side, evaluated in every V8 isolate before the prelude: turns the sidecar's
 * callbacks ($log, $random, $textDecode, $source, $call, $timer, $clearTimer, $done) into the `__cantripHost` object the prelude
 * captures, with UTF-8 encode/decode in plain JS (no host round trip), and leaves
 * `__cantripV8Finish` — run after the prelude — which takes the prelude's entry, hides every
 * global the guest must not see, and returns the control object the sidecar drives.
 */
(() => {
  const g = globalThis;
  const $log = g.$log, $random = g.$random, $call = g.$call, $done = g.$done, $timer = g.$timer, $clearTimer = g.$clearTimer, $textDecode = g.$textDecode, $source = g.$source;
  for (const k of ["$log", "$random", "$call", "$done", "$timer", "$clearTimer", "$textDecode", "$source"]) delete g[k];
  // The prelude's main part takes these (and deletes them); each fetches its text from the sidecar on first use.
  for (const [global, name] of [["__cantripStreamsSource", "streams"], ["__cantripLibsSource", "libs"]]) {
    Object.defineProperty(g, global, { value: () => $source(name), configurable: true });
  }
  // V8 hands Error.prepareStackTrace the raw call sites (getThis, getFunction): pin it so a
  // guest cannot install one; stacks stay plain strings, as in QuickJS.
  Object.defineProperty(Error, "prepareStackTrace", { get: () => undefined, set: () => {}, configurable: false, enumerable: false });
  // The prelude loads URL/URLSearchParams (core-js, ~0.5 MB per isolate) on first use, not up front (sandbox/shims/url.ts).
  Object.defineProperty(g, "__cantripLazyLibs", { value: true, configurable: true });
  const pending = new Map();
  /** Guest timer id → the hid its promise waits on (so clearTimer can forget it). */
  const timers = new Map();
  let nextHid = 1;
  const callArg = (call) => (typeof call === "number" ? call : -1);

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
    log: (level, message, call) => $log(String(level), String(message), callArg(call)),
    random: (n) => $random(n | 0),
    encode: (s) => encode(String(s)),
    decode: (b) => decode(b),
    textDecode: (id, label, flags, bytes) => $textDecode(id, String(label), flags, bytes instanceof ArrayBuffer ? bytes : undefined),
    call(op, args, body, call) {
      const hid = nextHid++;
      return new Promise((resolve, reject) => {
        pending.set(hid, { resolve, reject });
        $call(hid, String(op), String(args), body instanceof ArrayBuffer ? body : undefined, callArg(call));
      });
    },
    timer(id, ms) {
      const hid = nextHid++;
      $timer(hid, id, ms); // throws past the per-call limit, before any promise exists
      return new Promise((resolve, reject) => {
        pending.set(hid, { resolve, reject, timer: id });
        timers.set(id, hid);
      });
    },
    clearTimer(id) {
      const hid = timers.get(id);
      timers.delete(id);
      if (hid !== undefined) pending.delete(hid);
      $clearTimer(id);
    },
  };

  // Captured before any guest code runs: the reply path below must not depend on globals a
  // guest can replace. What it reports is still checked by the host (guest-values.ts).
  const apply = Reflect.apply;
  const then = Promise.prototype.then;
  const PromiseCtor = Promise;
  const promiseResolve = Promise.resolve;
  const byteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
  const isArrayBuffer = (x) => {
    try {
      apply(byteLength, x, []);
      return true;
    } catch {
      return false;
    }
  };
  const errText = (e) => {
    try {
      return e && typeof e === "object" ? `${e.name ?? "Error"}: ${e.message ?? ""}${e.stack ? `\n${e.stack}` : ""}` : `${e}`;
    } catch {
      return "an error that could not be described (its properties threw)";
    }
  };
  /** Hands the prelude's [metadata, body] to the sidecar as primitives or an ArrayBuffer, whatever the guest made of them. */
  const reply = (id, r) => {
    let meta = null, body = null, problem;
    try {
      meta = r[0];
      body = r[1] ?? null;
    } catch {
      problem = "the response could not be read";
    }
    if (typeof meta !== "string") meta = null;
    if (body !== null && typeof body !== "string" && !isArrayBuffer(body)) {
      problem = "the body is not bytes or text";
      body = null;
    }
    $done(id, true, meta, body, problem);
  };

  Object.defineProperty(g, "__cantripV8Finish", {
    configurable: true,
    value: () => {
      const entry = g.__cantripEntry;
      delete g.__cantripEntry;
      delete g.__cantripSdk;
      delete g.__cantripV8Finish;
      let backend;
      // Promise.prototype.then and Promise.resolve read the promise's `constructor`, which a
      // guest may make a throwing getter: that is reported as the entry's failure (a bad
      // response, the text in the call's log), never thrown into the sidecar as a crash.
      const failed = (id, e) => $done(id, false, errText(e), null);
      const report = (id, p) => {
        try {
          apply(then, p, [(r) => reply(id, r), (e) => failed(id, e)]);
        } catch (e) {
          failed(id, e);
        }
      };
      return {
        configure: (json) => entry.configure(json),
        setBackend(ns) {
          backend = ns.default;
          return entry.describe(backend);
        },
        // (dispatch answers synchronously when it can: reported through a promise all the same.)
        start: (id, meta, body) => {
          let p;
          try {
            p = apply(promiseResolve, PromiseCtor, [entry.dispatch(backend, meta, body ?? undefined)]);
          } catch (e) {
            return failed(id, e);
          }
          report(id, p);
        },
        scheduled: (id) => {
          let p;
          try {
            p = apply(then, entry.scheduled(backend, id), [() => ["", null]]);
          } catch (e) {
            return failed(id, e);
          }
          report(id, p);
        },
        /** The next step of call `id`'s streamed body, reported through $done like a response: ["c", bytes] or ["e", null]. */
        pull: (id) => report(id, entry.pull(id)),
        cancelBody: (id, reason) => entry.cancelBody(id, reason),
        settle(hid, ok, json, bytes) {
          const p = pending.get(hid);
          if (!p) return;
          pending.delete(hid);
          if (p.timer !== undefined) timers.delete(p.timer);
          if (ok) p.resolve([json, bytes ?? undefined]);
          else p.reject(new Error(json));
        },
        /** Reject timers whose call ended (only the setTimeout shim's own handlers run). */
        cancel(hids) {
          for (const hid of hids) {
            const p = pending.get(hid);
            if (!p) continue;
            pending.delete(hid);
            if (p.timer !== undefined) timers.delete(p.timer);
            p.reject(new Error("the call that set this timer has ended"));
          }
        },
        /** Forget requests no call is left to receive (their promises stay pending; nothing runs). */
        forget(hids) {
          for (const hid of hids) {
            const p = pending.get(hid);
            pending.delete(hid);
            if (p?.timer !== undefined) timers.delete(p.timer);
          }
        },
      };
    },
  });
})();
