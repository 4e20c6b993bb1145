/**
 * Matches a request path against a backend's route path on the host, by segments and in
 * linear time, with the guest router's rules (sandbox/sdk/router.ts): a segment that starts
 * with ":" is a parameter matching one non-empty segment, every other segment matches
 * itself literally, a trailing slash on either side is ignored, and the query is not part
 * of the path. Route paths come from backend code (and so from models): they are never
 * turned into regular expressions here, since "/(a*)*b" backtracks and "/:a:b:c…" as
 * repeated `[^/]+` is polynomial.
 */

/** The path's segments after the leading "/", without one trailing slash ("/" → [""]). */
function segments(path: string): string[] {
  const p = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return p.split("/").slice(1);
}

/**
 * True when `path` (a request path, query allowed) is served by the route path `pattern`
 * (e.g. "/todos/:id"). Both must start with "/". O(length of both).
 */
export function routePathMatches(pattern: string, path: string): boolean {
  const clean = path.split("?")[0]!;
  if (!pattern.startsWith("/") || !clean.startsWith("/")) return false;
  const want = segments(pattern);
  const got = segments(clean);
  if (want.length !== got.length) return false;
  return want.every((w, i) => (w.startsWith(":") ? got[i]!.length > 0 : w === got[i]));
}
