/**
 * Host-based app routing: with CANTRIP_APPS_DOMAIN set, a request whose Host is
 * `{slug}.<domain>` (any port) is that app on an origin of its own. It is rewritten to
 * /apps/{slug}/... and handed to the apps routes marked as origin "own"; every other
 * request goes to the listener's usual app. Applies on both listeners, so an operator's
 * wildcard DNS may point at either.
 */
import { appOriginOf, clientAddressOf, requestIdOf, setAppOrigin, setClientAddressSource, setRequestId } from "./request-context";

type Handle = (req: Request) => Promise<Response> | Response;

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;

/** The app slug a Host header names under `domain`, or null ("greeter.apps.test:8080" → "greeter"). */
export function appSlugOfHost(host: string | null, domain: string): string | null {
  if (!host || !domain) return null;
  const name = host.replace(/:\d+$/, "").replace(/\.$/, "").toLowerCase();
  const suffix = `.${domain.toLowerCase()}`;
  if (!name.endsWith(suffix)) return null;
  const slug = name.slice(0, -suffix.length);
  return SLUG.test(slug) ? slug : null;
}

/** Wraps a listener's handler: host-routed requests go to `apps`, the rest to `rest`. */
export function hostRouter(domain: string, apps: Handle, rest: Handle): Handle {
  if (!domain) return rest;
  return (req) => {
    const slug = appSlugOfHost(req.headers.get("host"), domain);
    if (slug === null || appOriginOf(req)) return rest(req);
    const url = new URL(req.url);
    const inner = new Request(new URL(`/apps/${slug}${url.pathname}${url.search}`, url), req);
    setRequestId(inner, requestIdOf(req));
    setClientAddressSource(inner, () => clientAddressOf(req)); // the anonymous rate limit counts per client
    setAppOrigin(inner, "own");
    return apps(inner);
  };
}
