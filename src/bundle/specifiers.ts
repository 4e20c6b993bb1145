/**
 * Sorts every import specifier a guest module writes into one of three kinds: the SDK
 * ("cantrip", left external for the sandbox to provide), a relative import of another
 * project file, or something the sandbox cannot offer (npm packages, Node and Bun
 * built-ins, absolute paths, URLs). Refusals carry a message written for the model that
 * produced the code: what was imported, why it cannot be, and what to do instead.
 */
import { builtinModules } from "node:module";

export const SDK_MODULE = "cantrip";

export type SpecifierKind = { kind: "sdk" } | { kind: "relative" } | { kind: "refused"; message: string };

const ONLY = `Only "${SDK_MODULE}" and the project's own files (relative imports such as "./util") can be imported.`;
const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

export function classifySpecifier(spec: string): SpecifierKind {
  if (spec === SDK_MODULE) return { kind: "sdk" };
  if (spec === "." || spec === ".." || spec.startsWith("./") || spec.startsWith("../")) return { kind: "relative" };
  if (spec === "") return { kind: "refused", message: "Empty import path." };
  if (spec.startsWith(SDK_MODULE + "/")) {
    return { kind: "refused", message: `Cannot import "${spec}": the SDK has no subpath modules; import everything from "${SDK_MODULE}".` };
  }
  if (spec === "bun" || spec.startsWith("bun:")) {
    return { kind: "refused", message: `Cannot import "${spec}": Bun built-in modules are not available in the sandbox. ${ONLY}` };
  }
  if (spec.startsWith("node:") || builtins.has(packageName(spec))) {
    return {
      kind: "refused",
      message: `Cannot import "${spec}": Node.js built-in modules are not available in the sandbox (use ctx.kv for storage and ctx.fetch for HTTP). ${ONLY}`,
    };
  }
  if (spec.startsWith("/")) {
    return { kind: "refused", message: `Cannot import "${spec}": absolute paths are not allowed; import project files with a relative path such as "./${spec.replace(/^\/+/, "")}".` };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec)) {
    return { kind: "refused", message: `Cannot import "${spec}": URL imports are not supported. ${ONLY}` };
  }
  return {
    kind: "refused",
    message: `Cannot import "${spec}": npm package "${packageName(spec)}" is not available in the sandbox (no packages are installed). ${ONLY}`,
  };
}
