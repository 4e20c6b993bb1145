/**
 * The URLs cantrip hands to clients (API responses, CLI output, dashboard links, app docs):
 * the platform's base URL and each app's root. Apps live on their own origin when the
 * operator gives them one (CANTRIP_APPS_PUBLIC_URL, CANTRIP_APPS_DOMAIN, CANTRIP_APPS_PORT),
 * otherwise under /apps/{slug}/ of the platform's origin. See docs/ARCHITECTURE.md, "Origins".
 */

export interface PublicUrlSettings {
  publicUrl: string;
  appsPublicUrl: string;
  appsDomain: string;
}

/** Where the listeners ended up: known only after Bun.serve picked the ports. */
export interface Listening {
  /** http://host:port of the platform listener. */
  mainUrl: string;
  /** http://host:port of the apps listener, or null when there is none. */
  appsUrl: string | null;
}

export class PublicUrls {
  private baseUrl = "";
  private template = "";

  constructor(private settings: PublicUrlSettings) {}

  /** Called once the listeners are up; derives the defaults the operator left empty. */
  listening(where: Listening): void {
    const s = this.settings;
    this.baseUrl = (s.publicUrl || where.mainUrl).replace(/\/+$/, "");
    this.template = appTemplate(s, where, this.baseUrl);
  }

  /** The platform's base URL, without a trailing slash (CANTRIP_PUBLIC_URL or http://host:port). */
  get base(): string {
    return this.baseUrl;
  }

  /** An app's root URL, with a trailing slash: https://{slug}.apps.example.com/ or <base>/apps/{slug}/. */
  app(slug: string): string {
    return this.template.replaceAll("{slug}", slug);
  }
}

/**
 * The app URL template, `{slug}` standing for the app. Order: an explicit apps URL (with
 * `{slug}` it is host-based, without it apps sit under its /apps/), then the apps domain
 * (scheme and port from the public URL, else the listener that serves it), then the apps
 * listener, then the platform's own origin.
 */
export function appTemplate(s: PublicUrlSettings, where: Listening, baseUrl: string): string {
  const explicit = s.appsPublicUrl.replace(/\/+$/, "");
  if (explicit) return explicit.includes("{slug}") ? `${explicit}/` : `${explicit}/apps/{slug}/`;
  if (s.appsDomain) {
    const from = new URL(s.publicUrl || where.appsUrl || where.mainUrl);
    return `${from.protocol}//{slug}.${s.appsDomain}${from.port ? `:${from.port}` : ""}/`;
  }
  if (where.appsUrl) return `${where.appsUrl}/apps/{slug}/`;
  return `${baseUrl}/apps/{slug}/`;
}
