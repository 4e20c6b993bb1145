/** The public JSON shape of an agent (control API). */
import type { agents } from "../db/schema";
import type { PublicUrls } from "../lib/public-urls";
import { iso } from "../lib/time";

export type AgentRow = typeof agents.$inferSelect;

/** `urls` gives the endpoint and app URLs (the app may live on its own origin). */
export function agentView(a: AgentRow, urls: Pick<PublicUrls, "base" | "app">) {
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
    failure: a.failure ?? null,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

export function endpointUrl(baseUrl: string, slug: string): string {
  return `${baseUrl}/v1/invoke/${slug}`;
}
