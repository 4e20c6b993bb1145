/**
 * Per-request facts the outer server wrapper knows before Elysia runs (request id, the
 * client's network address, the origin an app is served on), reachable from any hook or
 * route through the Request object itself.
 */
import type { AppOrigin } from "../gateway/app-headers";

const ids = new WeakMap<Request, string>();
const clients = new WeakMap<Request, string>();

/** Records the peer address of the connection (Bun's server.requestIP), not a forwarded header. */
export function setClientAddress(req: Request, address: string | null | undefined): void {
  if (address) clients.set(req, address);
}

export function clientAddressOf(req: Request): string | null {
  return clients.get(req) ?? null;
}

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
