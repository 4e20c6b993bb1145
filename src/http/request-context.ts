/**
 * Per-request facts the outer server wrapper knows before Elysia runs (request id, the
 * client's network address, the origin an app is served on), reachable from any hook or
 * route through the Request object itself: one small record per request in one WeakMap
 * (the wrapper sets the id and the address source with a single `set`, issue 15).
 */
import type { AppOrigin } from "../gateway/app-headers";

interface RequestContext {
  id?: string;
  /** The client's address, or where to read it on first use. */
  client?: string | (() => string | null | undefined);
  origin?: AppOrigin;
}

const contexts = new WeakMap<Request, RequestContext>();

function contextOf(req: Request): RequestContext {
  let c = contexts.get(req);
  if (!c) contexts.set(req, (c = {}));
  return c;
}

/**
 * Records the request id and the client's address, or how to read it when a route first
 * asks for it: the peer address of the connection (Bun's server.requestIP), never a forwarded
 * header. Most requests (every invoke call) never ask, and reading it costs ~0.65 µs.
 */
export function setRequestContext(req: Request, id: string, client?: string | null | (() => string | null | undefined)): void {
  const c = contexts.get(req);
  if (c) {
    c.id = id;
    c.client = client ?? undefined;
  } else contexts.set(req, { id, client: client ?? undefined });
}

/** Records how to read the client's address on first use (see setRequestContext). */
export function setClientAddressSource(req: Request, read: () => string | null | undefined): void {
  contextOf(req).client = read;
}

export function clientAddressOf(req: Request): string | null {
  const c = contexts.get(req);
  const v = c?.client;
  if (typeof v !== "function") return v ?? null;
  const address = v() || null;
  c!.client = address ?? undefined;
  return address;
}

export function setRequestId(req: Request, id: string): void {
  contextOf(req).id = id;
}

export function requestIdOf(req: Request): string {
  return contexts.get(req)?.id ?? "unknown";
}

/** Marks a request the host router rewrote to /apps/{slug}/... (served on the app's own origin). */
export function setAppOrigin(req: Request, origin: AppOrigin): void {
  contextOf(req).origin = origin;
}

export function appOriginOf(req: Request): AppOrigin | undefined {
  return contexts.get(req)?.origin;
}
