/** The public JSON shape of an agent (control API). */
import type { agents } from "../db/schema";
import type { PublicUrls } from "../lib/public-urls";
import { iso } from "../lib/time";
import { effectiveLimits, toPublic, type LimitPolicy } from "./limits";

export type AgentRow = typeof agents.$inferSelect;

/** `urls` gives the endpoint and app URLs (the app may live on its own origin); `policy`: the operator's limit defaults and maxima, for the effective `limits` shown. */
export function agentView(a: AgentRow, urls: Pick<PublicUrls, "base" | "app">, policy?: LimitPolicy) {
  return {
    id: a.id,
    slug: a.slug,
    name: a.name,
    status: a.status,
    prompt: a.prompt,
    model: a.model,
    region: a.region,
    public: a.public,
    engine: a.engine,
    latestVersion: a.latestVersion,
    liveVersion: a.liveVersion,
    endpointUrl: a.liveVersion === null ? null : endpointUrl(urls.base, a.slug),
    appUrl: a.liveVersion === null ? null : urls.app(a.slug),
    allowedHosts: a.allowedHosts,
    /** What the next call runs with (public units: ms, MB, bytes, counts). */
    limits: toPublic(effectiveLimits(a.limits, policy)),
    /** The values set on this agent; every other limit follows the server default. */
    limitOverrides: toPublic(a.limits),
    failure: a.failure ?? null,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

export function endpointUrl(baseUrl: string, slug: string): string {
  return `${baseUrl}/v1/invoke/${slug}`;
}
