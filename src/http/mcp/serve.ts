/**
 * MCP over the Streamable HTTP transport, stateless: each POST builds a fresh low-level
 * `Server` with the caller's tools and answers through the SDK's Web-standard transport
 * (JSON, or an SSE stream when a tool sends progress notifications before its result).
 * Tools are a small table: name, description, a JSON Schema for the input (from the same
 * TypeBox schemas the HTTP API validates with), an optional output schema, and `run`.
 * A tool's own failure is a tool result with `isError: true` (so the model sees it); only
 * protocol failures are JSON-RPC errors.
 *
 * The SDK (with zod and ajv, ~55 ms of module loading here) is imported on the first MCP
 * request, not at process start: no first answer after a start waits for it (issue 15).
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AppError, isAppError } from "../../errors";
import { bytesNestDeeperThan } from "../../lib/json-nesting";
import { MAX_JSON_DEPTH } from "../server";

/** What a running tool may do besides computing its result. */
export interface ToolContext {
  signal: AbortSignal;
  /** Sends notifications/progress when the client asked for progress (a progressToken); no-op otherwise. */
  progress(progress: number, total: number | undefined, message?: string): Promise<void>;
}

export interface Tool {
  name: string;
  title?: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  /** Checks and narrows the arguments; throw an AppError (invalid_request) to refuse them. */
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<CallToolResult>;
}

/**
 * A tool result carrying JSON: as text for every client, and as structuredContent when it
 * is an object and not an error (clients check structuredContent against the tool's
 * output schema, which an error body does not follow).
 */
export function jsonResult(value: unknown, isError = false): CallToolResult {
  const structured = !isError && value !== null && typeof value === "object" && !Array.isArray(value) ? { structuredContent: value as Record<string, unknown> } : {};
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], ...structured, ...(isError ? { isError: true } : {}) };
}

/** A plain JSON Schema from a TypeBox schema (drops TypeBox's symbol keys). */
export const plainSchema = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

function errorResult(e: unknown): CallToolResult {
  if (isAppError(e)) return jsonResult({ error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) } }, true);
  return jsonResult({ error: { code: "internal_error", message: "Internal error." } }, true);
}

/**
 * Answers one MCP HTTP request with the given tools. A body nested deeper than
 * MAX_JSON_DEPTH is refused (400 invalid_json) before the SDK parses it: tool arguments are
 * cloned, checked and re-serialised recursively, and deep ones stalled the event loop for
 * every tenant before overflowing the stack (the control routes' scan in server.ts does not
 * cover /mcp or /apps/{slug}/_mcp).
 */
export async function serveMcp(request: Request, info: { name: string; version: string; instructions?: string }, tools: Tool[]): Promise<Response> {
  const { Server, WebStandardStreamableHTTPServerTransport, CallToolRequestSchema, ListToolsRequestSchema } = await mcpSdk();
  if (request.method === "POST" && request.body) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytesNestDeeperThan(bytes, MAX_JSON_DEPTH)) throw new AppError("invalid_json", `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    request = new Request(request.url, { method: request.method, headers: request.headers, body: bytes as Uint8Array<ArrayBuffer> });
  }
  const server = new Server({ name: info.name, version: info.version }, { capabilities: { tools: {} }, ...(info.instructions ? { instructions: info.instructions } : {}) });
  const byName = new Map(tools.map((t) => [t.name, t]));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map((t) => ({ name: t.name, ...(t.title ? { title: t.title } : {}), description: t.description, inputSchema: t.inputSchema as { type: "object" }, ...(t.outputSchema ? { outputSchema: t.outputSchema as { type: "object" } } : {}) })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = byName.get(req.params.name);
    if (!tool) return jsonResult({ error: { code: "not_found", message: `No tool named ${req.params.name}.` } }, true);
    const token = req.params._meta?.progressToken;
    const ctx: ToolContext = {
      signal: extra.signal,
      async progress(progress, total, message) {
        if (token === undefined) return;
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) } });
      },
    };
    try {
      return await tool.run((req.params.arguments ?? {}) as Record<string, unknown>, ctx);
    } catch (e) {
      return errorResult(e);
    }
  });
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  await server.connect(transport);
  const res = await transport.handleRequest(lenientAccept(request));
  if (res.status >= 400) throw await transportError(res);
  return res;
}

let sdk: Promise<typeof import("@modelcontextprotocol/sdk/server/index.js") & typeof import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js") & typeof import("@modelcontextprotocol/sdk/types.js")> | undefined;

/** The MCP SDK's server parts, imported once, on first use. */
function mcpSdk() {
  sdk ??= Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]).then(([server, transport, types]) => ({ ...server, ...transport, ...types }));
  return sdk;
}

/**
 * The transport insists on `Accept: application/json, text/event-stream`; SDK clients send
 * it, curl and hand-written clients often do not. Accept them: the reply is JSON or SSE
 * either way.
 */
function lenientAccept(request: Request): Request {
  const accept = request.headers.get("accept") ?? "";
  if (request.method !== "POST" || (accept.includes("application/json") && accept.includes("text/event-stream"))) return request;
  const headers = new Headers(request.headers);
  headers.set("accept", "application/json, text/event-stream");
  return new Request(request, { headers });
}

/**
 * A request the transport refused before any tool ran (not JSON, not JSON-RPC, wrong media
 * type or method) is answered like every other bad request on this platform: a catalogue
 * code, with the JSON-RPC error in `details` for MCP-aware callers.
 */
async function transportError(res: Response): Promise<AppError> {
  let rpc: { code?: number; message?: string } | undefined;
  try {
    rpc = ((await res.json()) as { error?: { code?: number; message?: string } }).error;
  } catch {}
  const details = { jsonrpc: rpc ?? null };
  const message = rpc?.message ?? `The MCP request was refused (${res.status}).`;
  if (res.status === 405) return new AppError("method_not_allowed", message, { details, headers: { allow: res.headers.get("allow") ?? "POST" } });
  if (res.status === 415) return new AppError("unsupported_media_type", message, { details });
  if (rpc?.code === -32700) return new AppError("invalid_json", message, { details });
  return new AppError("invalid_request", message, { details });
}
