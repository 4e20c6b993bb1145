/**
 * Per-request facts the outer server wrapper knows before Elysia runs (request id, start
 * time, the origin an app is served on), reachable from any hook or route through the
 * Request object itself.
 */
import type { AppOrigin } from "../gateway/app-headers";

const ids = new WeakMap<Request, string>();
const appOrigins = new WeakMap<Request, AppOrigin>();

export function setRequestId(req: Request, id: string): void {
  ids.set(req, id);
}

export function requestIdOf(req: Request): string {
  return ids.get(req) ?? "unknown";
}

/** Marks a request the host router rewrote to /apps/{slug}/... (served on the app's own origin). */
export function setAppOrigin(req: Request, origin: AppOrigin): void {
  appOrigins.set(req, origin);
}

export function appOriginOf(req: Request): AppOrigin | undefined {
  return appOrigins.get(req);
}
