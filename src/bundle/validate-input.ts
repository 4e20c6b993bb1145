/**
 * Checks a bundle request before esbuild sees it: file count, names, total source size
 * and the entrypoint. Returns the normalized file map (keys without "./" or "a/../") or a
 * failure naming every offending file, so a client can fix them all in one round trip.
 */
import type { FieldIssue } from "../errors";
import { extensionOf, joinWithinRoot, nameProblem } from "./paths";
import type { BundleFailureCode, BundleInput, BundleLimits, Diagnostic } from "./types";

export interface ValidInput {
  files: Map<string, string>;
  entrypoint: string;
}

export interface InvalidInput {
  code: BundleFailureCode;
  message: string;
  issues: FieldIssue[];
  diagnostics: Diagnostic[];
}

function fieldOf(name: string): string {
  return `files[${JSON.stringify(name)}]`;
}

function fail(code: BundleFailureCode, issues: FieldIssue[], files: string[]): InvalidInput {
  const message = issues.length === 1 ? `${issues[0]!.field}: ${issues[0]!.message}` : `${issues.length} problems with the files: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`;
  const diagnostics = issues.map((i, n): Diagnostic => ({ file: files[n] ?? "", line: 0, column: 0, message: i.message, severity: "error" }));
  return { code, message, issues, diagnostics };
}

export function validateInput(input: BundleInput, limits: BundleLimits): ValidInput | InvalidInput {
  const raw = input?.files;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return fail("invalid_request", [{ field: "files", rule: "type", message: "files must be an object mapping file names to source text" }], [""]);
  }
  const names = Object.keys(raw);
  if (names.length > limits.maxFiles) {
    return fail("payload_too_large", [{ field: "files", rule: "max_files", message: `too many files: ${names.length} (the limit is ${limits.maxFiles})` }], [""]);
  }

  const issues: FieldIssue[] = [];
  const issueFiles: string[] = [];
  const add = (name: string, rule: string, message: string) => {
    issues.push({ field: fieldOf(name), rule, message });
    issueFiles.push(name);
  };
  const files = new Map<string, string>();
  const originalOf = new Map<string, string>();
  let totalBytes = 0;
  for (const name of names) {
    const source: unknown = raw[name];
    const problem = nameProblem(name);
    if (problem) {
      add(name, problem.rule, problem.message);
      continue;
    }
    if (typeof source !== "string") {
      add(name, "type", "file content must be a string");
      continue;
    }
    const normalized = joinWithinRoot("", name)!;
    const earlier = originalOf.get(normalized);
    if (earlier !== undefined) {
      add(name, "duplicate", `file name refers to the same file as ${JSON.stringify(earlier)}`);
      continue;
    }
    originalOf.set(normalized, name);
    files.set(normalized, source);
    totalBytes += Buffer.byteLength(source, "utf8");
  }
  if (issues.length > 0) return fail("invalid_request", issues, issueFiles);

  if (totalBytes > limits.maxSourceBytes) {
    return fail("payload_too_large", [{ field: "files", rule: "max_source_bytes", message: `source is too large: ${totalBytes} bytes in total (the limit is ${limits.maxSourceBytes})` }], [""]);
  }

  const entry = typeof input.entrypoint === "string" ? joinWithinRoot("", input.entrypoint) : null;
  const entryField = [{ field: "entrypoint", rule: "", message: "" }];
  if (entry === null || !files.has(entry)) {
    entryField[0]!.rule = "missing";
    entryField[0]!.message = `entrypoint ${JSON.stringify(input.entrypoint)} is not one of the files (${[...files.keys()].slice(0, 20).join(", ") || "none given"})`;
    return fail("invalid_request", entryField, [String(input.entrypoint ?? "")]);
  }
  if (extensionOf(entry) === ".json") {
    entryField[0]!.rule = "extension";
    entryField[0]!.message = "entrypoint must be a .ts, .js or .mjs module, not JSON";
    return fail("invalid_request", entryField, [entry]);
  }
  return { files, entrypoint: entry };
}
