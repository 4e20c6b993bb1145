/**
 * Per-request facts the outer server wrapper knows before Elysia runs (request id, start
 * time), reachable from any hook or route through the Request object itself.
 */
const ids = new WeakMap<Request, string>();

export function setRequestId(req: Request, id: string): void {
  ids.set(req, id);
}

export function requestIdOf(req: Request): string {
  return ids.get(req) ?? "unknown";
}
