/**
 * /v1/session: the dashboard's sign-in. POST trades a platform token for a session cookie
 * (HttpOnly, SameSite=Strict, Path=/v1 and /api/v1) and answers the session's CSRF token;
 * GET tells a page whether its cookie is still good and gives it the CSRF token again
 * (readable only by same-origin scripts: cantrip sends no CORS headers); DELETE signs out.
 * The CLI keeps using `Authorization: Bearer`, which never needs these routes.
 */
import { Elysia, t } from "elysia";
import { AppError } from "../../errors";
import { sessionCookieOf } from "../auth";
import type { HttpDeps } from "../deps";
import { data } from "../schemas";

const Session = t.Object({
  workspaceId: t.String(),
  csrfToken: t.Nullable(t.String({ description: "send as X-CSRF-Token with every cookie-authenticated call" })),
  expiresAt: t.Nullable(t.String()),
});

const privateHeaders = { "cache-control": "no-store", vary: "Cookie" };

export function v1SessionRoutes(deps: HttpDeps) {
  const sessions = deps.verifier.sessions;
  return new Elysia({ name: "v1-session", prefix: "/v1/session" })
    .post(
      "",
      async ({ body }) => {
        const s = await sessions.open(body.token.trim());
        const res = Response.json(
          { data: { workspaceId: s.principal.workspaceId, csrfToken: s.csrfToken, expiresAt: new Date(s.expiresAt).toISOString() } },
          { headers: privateHeaders },
        );
        for (const c of s.cookies) res.headers.append("set-cookie", c);
        return res as never; // a Response passes through Elysia as is (its body is the documented Session)
      },
      {
        body: t.Object({ token: t.String({ minLength: 1, maxLength: 200, description: "a platform token, ctp_pt_..." }) }),
        detail: { summary: "Sign in (dashboard): set the session cookie for a platform token; answers the CSRF token", tags: ["session"], security: [] },
        response: data(Session),
      },
    )
    .get(
      "",
      async ({ request, set }) => {
        Object.assign(set.headers, privateHeaders);
        if (request.headers.get("authorization")) {
          const p = await deps.verifier.tokens.verify(request.headers.get("authorization"));
          return { data: { workspaceId: p.workspaceId, csrfToken: null, expiresAt: null } };
        }
        const site = request.headers.get("sec-fetch-site");
        if (site !== null && site !== "same-origin" && site !== "none") throw new AppError("csrf_failed", `The session is not shown to a ${site} request.`);
        const cookie = sessionCookieOf(request);
        if (!cookie) throw new AppError("unauthorized", "No dashboard session. Sign in with a platform token.");
        const s = await sessions.verify(cookie);
        return { data: { workspaceId: s.principal.workspaceId, csrfToken: s.csrfToken, expiresAt: new Date(s.expiresAt).toISOString() } };
      },
      { detail: { summary: "The current session (cookie or bearer) and its CSRF token", tags: ["session"] }, response: data(Session) },
    )
    .delete(
      "",
      () => {
        const res = Response.json({ data: { signedOut: true } }, { headers: privateHeaders });
        for (const c of sessions.clearCookies()) res.headers.append("set-cookie", c);
        return res;
      },
      { detail: { summary: "Sign out (dashboard): clear the session cookie", tags: ["session"], security: [] }, response: data(t.Object({ signedOut: t.Boolean() })) },
    );
}
