/**
 * Per-request facts the outer server wrapper knows before Elysia runs (request id, the
 * client's network address, the origin an app is served on), reachable from any hook or
 * route through the Request object itself.
 */
import type { AppOrigin } from "../gateway/app-headers";

const ids = new WeakMap<Request, string>();
/** The client's address, or where to read it on first use. */
const clients = new WeakMap<Request, string | (() => string | null | undefined)>();

/**
 * Records how to read the client's address when a route first asks for it: the peer address
 * of the connection (Bun's server.requestIP), never a forwarded header. Most requests
 * (every invoke call) never ask, and reading it costs ~0.65 µs.
 */
export function setClientAddressSource(req: Request, read: () => string | null | undefined): void {
  clients.set(req, read);
}

export function clientAddressOf(req: Request): string | null {
  const v = clients.get(req);
  if (typeof v !== "function") return v ?? null;
  const address = v() || null;
  if (address) clients.set(req, address);
  else clients.delete(req);
  return address;
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
