/** /v1/downloads: the artifact of an agent's newest version, as .zip or .tar.gz, behind a signed token. */
import { Elysia, t } from "elysia";
import { getAgent } from "../../agents";
import { getVersion } from "../../deploy";
import { AppError } from "../../errors";
import { artifactFiles, tarGzArtifact, zipArtifact } from "../../generate/artifact";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";

const NAME = /^(?<slug>[a-z0-9-]+)-v(?<version>\d+)\.(?<ext>zip|tar\.gz)$/;

export function v1DownloadsRoutes(deps: HttpDeps) {
  const latestOf = async (workspaceId: string, agentId: string) => {
    const agent = await getAgent(deps.db, workspaceId, agentId);
    if (agent.latestVersion === null) throw new AppError("version_not_found", "The agent has no version to download yet.");
    return { agent, version: await getVersion(deps.db, agent.id, agent.latestVersion) };
  };
  const links = (agentId: string, workspaceId: string, slug: string, n: number) => {
    const { token, expiresAt } = deps.signer.sign("download", agentId, workspaceId, 60_000);
    const base = `${deps.baseUrl}/v1/downloads/${agentId}`;
    return {
      token,
      expiresAt: new Date(expiresAt).toISOString(),
      files: [`${slug}-v${n}.zip`, `${slug}-v${n}.tar.gz`].map((filename) => ({ filename, url: `${base}/${filename}?token=${encodeURIComponent(token)}` })),
    };
  };
  return new Elysia({ name: "v1-downloads", prefix: "/v1/downloads" })
    .get(
      "/:agentId/:filename",
      async ({ params, query }) => {
        const workspaceId = deps.signer.verify(query.token, "download", params.agentId);
        const m = NAME.exec(params.filename);
        if (!m) throw new AppError("file_not_found", "Unknown file: use <slug>-v<version>.zip or .tar.gz");
        const agent = await getAgent(deps.db, workspaceId, params.agentId);
        if (m.groups!.slug !== agent.slug) throw new AppError("file_not_found");
        const v = await getVersion(deps.db, agent.id, Number(m.groups!.version));
        const files = artifactFiles(agent, v);
        const root = `${agent.slug}-v${v.number}`;
        const zip = m.groups!.ext === "zip";
        const bytes = zip ? zipArtifact(files, root) : await tarGzArtifact(files, root);
        return new Response(bytes as Uint8Array<ArrayBuffer>, {
          headers: {
            "content-type": zip ? "application/zip" : "application/gzip",
            "content-disposition": `attachment; filename="${params.filename}"`,
            "cache-control": "no-store",
          },
        });
      },
      {
        query: t.Object({ token: t.Optional(t.String()) }),
        detail: { summary: "Download an artifact file (source, bundle, spec, validation report, README) with a download token", tags: ["downloads"], security: [] },
      },
    )
    .use(authPlugin(deps.verifier))
    .post(
      "/:agentId/token",
      async ({ params, principal }) => {
        const { agent, version } = await latestOf(principal.workspaceId, params.agentId);
        return { data: { agentId: agent.id, version: version.number, ...links(agent.id, principal.workspaceId, agent.slug, version.number) } };
      },
      { detail: { summary: "A signed download token (60 s) and the artifact URLs of the newest version", tags: ["downloads"] } },
    )
    .get(
      "/:agentId/latest",
      async ({ params, principal }) => {
        const { agent, version } = await latestOf(principal.workspaceId, params.agentId);
        return {
          data: {
            agentId: agent.id,
            slug: agent.slug,
            version: version.number,
            hash: version.hash,
            createdAt: new Date(version.createdAt).toISOString(),
            contents: Object.keys(artifactFiles(agent, version)),
            ...links(agent.id, principal.workspaceId, agent.slug, version.number),
          },
        };
      },
      { detail: { summary: "The newest artifact: version, contents and download URLs", tags: ["downloads"] } },
    );
}
