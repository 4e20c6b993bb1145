/**
 * /v1/admin: operator-only routes. The operator's workspace is the one created at first
 * start (its admin token, and tokens minted by `cantrip token create` without
 * --workspace); other workspaces' platform tokens get 403 `forbidden`, because a
 * database snapshot holds every tenant's data.
 */
import { Elysia } from "elysia";
import { openSync, unlinkSync, createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { AppError } from "../../errors";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";

export function v1AdminRoutes(deps: HttpDeps) {
  return new Elysia({ name: "v1-admin", prefix: "/v1/admin" })
    .use(authPlugin(deps.verifier))
    .post(
      "/backup",
      async ({ principal }) => {
        if (!deps.admin || principal.workspaceId !== await deps.admin.operatorWorkspaceId())
          throw new AppError("forbidden", "Backups need a platform token of the operator's workspace.");
        const snap = await deps.admin.backup();
        // The snapshot is a temporary file inside the data dir: unlink it now, stream the open file.
        const fd = openSync(snap.file, "r");
        unlinkSync(snap.file);
        const body = Readable.toWeb(createReadStream("", { fd, autoClose: true })) as unknown as ReadableStream<Uint8Array>;
        const name = `cantrip-${new Date().toISOString().replace(/[:.]/g, "-")}.db`;
        deps.logger.info("backup streamed", { bytes: snap.bytes, ms: snap.ms });
        return new Response(body, {
          headers: {
            "content-type": "application/vnd.sqlite3",
            "content-length": String(snap.bytes),
            "content-disposition": `attachment; filename="${name}"`,
            "cache-control": "no-store",
          },
        });
      },
      {
        detail: {
          summary: "Operator only: a consistent snapshot of the whole database (SQLite file), taken while serving. Restore it with `cantrip restore <file>`.",
          tags: ["admin"],
        },
      },
    );
}
