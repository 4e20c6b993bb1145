/**
 * Guards for control routes: a platform token in `Authorization: Bearer ctp_pt_...`
 * resolves to the caller's workspace before validation or the handler run.
 */
import { Elysia } from "elysia";
import type { PlatformTokenVerifier, Principal } from "../auth";

export function authPlugin(verifier: PlatformTokenVerifier) {
  return new Elysia({ name: "auth" }).derive({ as: "scoped" }, ({ request }): { principal: Principal } => ({
    principal: verifier.verify(request.headers.get("authorization")),
  }));
}
