/**
 * The esbuild plugin that makes the files map the whole world: every import is resolved
 * here, against the in-memory files, and nothing is read from or written to disk.
 * "cantrip" is marked external; relative imports find project files with the usual
 * TypeScript/Node rules (extensions, "./x.js" → x.ts, index files); everything else is a
 * build error that esbuild pins to the import's file, line and column.
 */
import type { Plugin } from "esbuild";
import { candidatesFor, dirnameOf, extensionOf, joinWithinRoot, sourceLoaders, type SourceExtension } from "./paths";
import { classifySpecifier, SDK_MODULE } from "./specifiers";

/** The esbuild namespace of project files; diagnostics show it as "project:<path>". */
export const PROJECT_NAMESPACE = "project";

function listFiles(files: Map<string, string>): string {
  const names = [...files.keys()];
  return names.length <= 20 ? names.join(", ") : `${names.slice(0, 20).join(", ")}, ... (${names.length} files)`;
}

export function projectPlugin(files: Map<string, string>): Plugin {
  return {
    name: "cantrip-project",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return { path: args.path, namespace: PROJECT_NAMESPACE };
        const spec = args.path;
        const what = classifySpecifier(spec);
        if (what.kind === "sdk") return { path: SDK_MODULE, external: true };
        if (what.kind === "refused") return { errors: [{ text: what.message }] };

        const importer = args.namespace === PROJECT_NAMESPACE ? args.importer : "";
        const target = joinWithinRoot(dirnameOf(importer), spec);
        if (target === null) {
          return { errors: [{ text: `Cannot import "${spec}": the path leaves the project root. Only files of this project can be imported.` }] };
        }
        const wantsDirectory = spec.endsWith("/") || spec === "." || spec === ".." || spec.endsWith("/.") || spec.endsWith("/..");
        const tried = candidatesFor(target, wantsDirectory);
        const found = tried.find((c) => files.has(c));
        if (found !== undefined) return { path: found, namespace: PROJECT_NAMESPACE };
        return {
          errors: [
            {
              text: `Cannot find "${spec}" (resolved to "${target || "."}"): no such file in the project. Tried ${tried.join(", ")}. Project files: ${listFiles(files)}.`,
            },
          ],
        };
      });

      build.onLoad({ filter: /.*/, namespace: PROJECT_NAMESPACE }, (args) => {
        const contents = files.get(args.path);
        // Resolution only ever returns keys of the map, so a miss is a bug, not user error.
        if (contents === undefined) return { errors: [{ text: `internal: project file "${args.path}" vanished` }] };
        const loader = sourceLoaders[extensionOf(args.path) as SourceExtension];
        return { contents, loader };
      });
    },
  };
}
