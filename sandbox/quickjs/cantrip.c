/*
 * cantrip's own entries into QuickJS, linked beside quickjs-emscripten's interface.c:
 * compile a script to bytecode once and run that bytecode in other interpreters of the
 * same build, so a new interpreter does not parse the same source again; and the local time
 * zone's offset QuickJS asks for (0001-timezone-offset.patch).
 */
#include <emscripten.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "quickjs.h"

/*
 * Compiles `code` (`len` bytes of UTF-8, global script) without running it and returns its
 * bytecode in a malloc'd buffer (the caller frees it), its size in *out_len; NULL when it
 * does not compile (the exception is cleared). `strip` is QuickJS's JS_STRIP_* flags for this
 * compile only (JS_STRIP_SOURCE: its functions keep no copy of their source text, and
 * Function.prototype.toString answers "[native code]" for them, as for a built-in).
 */
EMSCRIPTEN_KEEPALIVE uint8_t *CANTRIP_CompileScript(JSContext *ctx, const char *code, size_t len, const char *filename, size_t *out_len, int strip) {
  JSRuntime *rt = JS_GetRuntime(ctx);
  int was = JS_GetStripInfo(rt);
  JS_SetStripInfo(rt, strip);
  JSValue fn = JS_Eval(ctx, code, len, filename, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
  JS_SetStripInfo(rt, was);
  if (JS_IsException(fn)) {
    JS_FreeValue(ctx, JS_GetException(ctx));
    return NULL;
  }
  size_t n = 0;
  uint8_t *buf = JS_WriteObject(ctx, &n, fn, JS_WRITE_OBJ_BYTECODE);
  JS_FreeValue(ctx, fn);
  if (!buf) return NULL;
  uint8_t *out = malloc(n);
  if (out) memcpy(out, buf, n);
  js_free(ctx, buf);
  *out_len = n;
  return out;
}

/*
 * Runs bytecode CANTRIP_CompileScript made (with the same build) in ctx's global scope.
 * Returns 0, or -1 when reading or running it threw (the exception is cleared: the caller
 * evaluates the source instead, which reports it).
 */
EMSCRIPTEN_KEEPALIVE int CANTRIP_RunScript(JSContext *ctx, const uint8_t *buf, size_t len) {
  JSValue fn = JS_ReadObject(ctx, buf, len, JS_READ_OBJ_BYTECODE);
  if (JS_IsException(fn)) {
    JS_FreeValue(ctx, JS_GetException(ctx));
    return -1;
  }
  JSValue r = JS_EvalFunction(ctx, fn);
  if (JS_IsException(r)) {
    JS_FreeValue(ctx, JS_GetException(ctx));
    return -1;
  }
  JS_FreeValue(ctx, r);
  return 0;
}

/*
 * The top of the allocator's heap (sbrk(0)): every byte of linear memory below it may have
 * been written (static data, the C stack, the heap); nothing above it has been, since the
 * heap grows by moving this pointer up. The host charges an idle interpreter this much of the
 * sandbox memory budget (its highest value seen: pages once written stay resident, even after
 * a trim) instead of the whole WebAssembly memory, most of which is never touched.
 */
EMSCRIPTEN_KEEPALIVE uintptr_t CANTRIP_HeapTop(void) {
  return (uintptr_t)sbrk(0);
}

/*
 * The local time zone's offset at `time` (ms since 1970, UTC) in minutes, as Date's
 * getTimezoneOffset gives it (UTC minus local; whole minutes, truncated as QuickJS's
 * -tm_gmtoff / 60 is), for QuickJS's getTimezoneOffset (0001-timezone-offset.patch).
 * Emscripten 3.1.6's time_t is 32 bits, so through localtime_r QuickJS clamped every time
 * after 2038-01-19 or before 1901-12-13 to that edge and gave it the edge's offset (a
 * summer date in 2040 got winter's); the JS Date takes the whole range. 0 for an invalid time.
 */
EM_JS(int, cantrip_timezone_offset, (double time), {
  var offset = new Date(time).getTimezoneOffset();
  return offset === offset ? offset | 0 : 0;
});

/* quickjs-emscripten's interface.c: a malloc'd copy of a JSValue, the form its handles hold (QTS_FreeValuePointer frees it). */
JSValue *jsvalue_to_heap(JSValueConst value);

/* Whether UTF-8 from JS_ToCStringLen2 holds a lone surrogate (which it writes as ED A0–BF xx). */
static int has_lone_surrogate(const uint8_t *s, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (s[i] == 0xED && s[i + 1] >= 0xA0) return 1;
  return 0;
}

/* The words of CANTRIP_Dispatch's `out` (uint32 each; see there). */
enum { OUT_META, OUT_META_LEN, OUT_BODY, OUT_BODY_LEN, OUT_SLOW, OUT_JOB_ERROR, OUT_WORDS };

/* A CANTRIP_Dispatch result: answered (read out[]); the call threw; the host reads the rest itself. */
enum { DISPATCH_ANSWERED = 0, DISPATCH_THREW = 1, DISPATCH_SLOW = 2 };

/*
 * One call of the prelude's dispatch entry in one crossing (issue 15: the same through
 * quickjs-emscripten's handles took ~20 calls across the boundary, ~4 µs per call):
 * fn.call(thisv, backend, meta, body) with meta and body made from `in` (metaLen then
 * bodyLen bytes of UTF-8; body is undefined when !hasBody; `in` is freed here), then every
 * pending job run, as QTS_ExecutePendingJob(-1) runs them.
 * DISPATCH_ANSWERED: the result (or the value its fulfilled promise holds) was an array of a
 * string and a string, undefined or null; out[OUT_META] is that metadata's UTF-8 (0 when it
 * was not a string) and out[OUT_BODY] the body's (0 for none), with their lengths, to be
 * released with CANTRIP_DispatchDone. DISPATCH_THREW: out[OUT_SLOW] holds the exception.
 * DISPATCH_SLOW (pending or rejected, another shape, bytes, a lone surrogate): out[OUT_SLOW]
 * holds the call's result for the host's own reading. With either of the last two,
 * out[OUT_JOB_ERROR] holds the exception a pending job threw, if one did (jobs stop there).
 */
EMSCRIPTEN_KEEPALIVE int CANTRIP_Dispatch(JSContext *ctx, JSValueConst *fn, JSValueConst *thisv, JSValueConst *backend, char *in, uint32_t metaLen, uint32_t bodyLen, int hasBody, uint32_t *out) {
  memset(out, 0, OUT_WORDS * sizeof(uint32_t));
  JSValue args[3];
  args[0] = JS_DupValue(ctx, *backend);
  args[1] = JS_NewStringLen(ctx, in, metaLen);
  args[2] = hasBody ? JS_NewStringLen(ctx, in + metaLen, bodyLen) : JS_UNDEFINED;
  free(in);
  JSValue r;
  if (JS_IsException(args[1]) || JS_IsException(args[2])) r = JS_EXCEPTION;
  else r = JS_Call(ctx, *fn, *thisv, 3, args);
  for (int i = 0; i < 3; i++) JS_FreeValue(ctx, args[i]);
  if (JS_IsException(r)) {
    out[OUT_SLOW] = (uint32_t)(uintptr_t)jsvalue_to_heap(JS_GetException(ctx));
    return DISPATCH_THREW;
  }
  JSRuntime *rt = JS_GetRuntime(ctx);
  for (;;) {
    JSContext *pctx;
    int st = JS_ExecutePendingJob(rt, &pctx);
    if (st == 0) break;
    if (st < 0) {
      out[OUT_JOB_ERROR] = (uint32_t)(uintptr_t)jsvalue_to_heap(JS_GetException(pctx));
      out[OUT_SLOW] = (uint32_t)(uintptr_t)jsvalue_to_heap(r);
      return DISPATCH_SLOW;
    }
  }
  int state = JS_PromiseState(ctx, r);
  JSValue val;
  if ((int)state < 0) val = JS_DupValue(ctx, r);
  else if (state == JS_PROMISE_FULFILLED) val = JS_PromiseResult(ctx, r);
  else goto slow;
  int is_array = JS_IsArray(ctx, val);
  if (is_array < 0) JS_FreeValue(ctx, JS_GetException(ctx)); /* (a revoked proxy: the host's own reading meets it again) */
  if (is_array != 1) goto slow_val;
  JSValue m = JS_GetPropertyUint32(ctx, val, 0);
  JSValue b = JS_GetPropertyUint32(ctx, val, 1);
  const char *ms = NULL, *bs = NULL;
  size_t ml = 0, bl = 0;
  int ok = !JS_IsException(m) && !JS_IsException(b) && (JS_IsString(b) || JS_IsUndefined(b) || JS_IsNull(b));
  if (ok && JS_IsString(m)) ok = (ms = JS_ToCStringLen(ctx, &ml, m)) != NULL && !has_lone_surrogate((const uint8_t *)ms, ml);
  if (ok && JS_IsString(b)) ok = (bs = JS_ToCStringLen(ctx, &bl, b)) != NULL && !has_lone_surrogate((const uint8_t *)bs, bl);
  JS_FreeValue(ctx, m);
  JS_FreeValue(ctx, b);
  if (!ok) {
    if (ms) JS_FreeCString(ctx, ms);
    if (bs) JS_FreeCString(ctx, bs);
    if (JS_HasException(ctx)) JS_FreeValue(ctx, JS_GetException(ctx));
    goto slow_val;
  }
  JS_FreeValue(ctx, val);
  JS_FreeValue(ctx, r);
  out[OUT_META] = (uint32_t)(uintptr_t)ms;
  out[OUT_META_LEN] = (uint32_t)ml;
  out[OUT_BODY] = (uint32_t)(uintptr_t)bs;
  out[OUT_BODY_LEN] = (uint32_t)bl;
  return DISPATCH_ANSWERED;
slow_val:
  JS_FreeValue(ctx, val);
slow:
  out[OUT_SLOW] = (uint32_t)(uintptr_t)jsvalue_to_heap(r);
  return DISPATCH_SLOW;
}

/* Releases the strings a DISPATCH_ANSWERED result left in `out`. */
EMSCRIPTEN_KEEPALIVE void CANTRIP_DispatchDone(JSContext *ctx, uint32_t *out) {
  if (out[OUT_META]) JS_FreeCString(ctx, (const char *)(uintptr_t)out[OUT_META]);
  if (out[OUT_BODY]) JS_FreeCString(ctx, (const char *)(uintptr_t)out[OUT_BODY]);
  out[OUT_META] = out[OUT_BODY] = 0;
}
