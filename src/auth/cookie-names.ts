/**
 * The cookies the platform itself sets. Kept apart so the /apps header policy can refuse
 * them from backends without depending on the session code.
 */

/** The dashboard session cookie (HttpOnly, SameSite=Strict, Path=/v1 and /api/v1). */
export const SESSION_COOKIE = "cantrip_session";

/** Every cookie name the platform owns; backends may neither set nor read them. */
export const PLATFORM_COOKIE_NAMES: readonly string[] = [SESSION_COOKIE];
