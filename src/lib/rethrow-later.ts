/**
 * Rethrows `e` on a microtask, so it reaches the process's last resort
 * (src/health/last-resort.ts: logged and counted, serving continues) without stopping the
 * caller: for errors thrown by callbacks the platform calls on others' behalf (commit hooks,
 * bus handlers, the invocation log's onDropped).
 */
export function rethrowLater(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}
