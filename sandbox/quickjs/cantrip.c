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
