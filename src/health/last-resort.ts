/**
 * The last line of defence: an uncaught exception or unhandled rejection anywhere in the
 * process is logged with its origin and counted, and serving goes on. Handlers are
 * installed on the process once; each running server registers a listener (its logger and
 * counters) and removes it when it stops. Every loop already guards itself (./loop.ts), so
 * anything that reaches here is a bug worth a log line, not a reason to drop every tenant.
 */
import type { HealthCounters } from "./counters";
import type { LoopLogger } from "./loop";

type Origin = "uncaughtException" | "unhandledRejection";

interface Listener {
  logger: LoopLogger;
  counters: HealthCounters;
  onUncaught?: (origin: Origin) => void;
}

const listeners = new Set<Listener>();

function report(origin: Origin, error: unknown): void {
  for (const l of listeners) {
    l.counters.uncaught++;
    try {
      l.onUncaught?.(origin);
      l.logger.error("uncaught error (serving goes on)", { origin, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    } catch {
      // nothing more to do: the count above already recorded it
    }
  }
}

/** Registers a server's logger and counters; returns the function that unregisters them. */
const onException = (e: unknown) => report("uncaughtException", e);
const onRejection = (e: unknown) => report("unhandledRejection", e);

/**
 * Registers a server's logger and counters; returns the function that unregisters them.
 * The process handlers exist only while at least one server is registered, so a process
 * with no server (a CLI command, a test after its server stopped) keeps the default
 * behaviour of failing loudly.
 */
export function installLastResort(logger: LoopLogger, counters: HealthCounters, onUncaught?: (origin: Origin) => void): () => void {
  if (listeners.size === 0) {
    process.on("uncaughtException", onException);
    process.on("unhandledRejection", onRejection);
  }
  const l: Listener = { logger, counters, onUncaught };
  listeners.add(l);
  return () => {
    if (!listeners.delete(l) || listeners.size > 0) return;
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}
