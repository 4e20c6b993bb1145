/**
 * The CLI's HTTP client: every command is a client of the public API (no back doors).
 * API errors carry the catalogue code; connection failures are a separate class so the
 * CLI can exit with distinct codes (see EXIT).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, connection: 4 } as const;

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

export class ConnectionError extends Error {}

export interface ClientOptions {
  url: string;
  token: string | null;
}

export class ApiClient {
  constructor(readonly opts: ClientOptions) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.raw(method, path, body, headers);
    const text = await res.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const err = parsed?.error ?? {};
      throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? (typeof parsed === "string" ? parsed : res.statusText), err.details);
    }
    return parsed as T;
  }

  async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.opts.token && !h.authorization) h.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) h["content-type"] = "application/json";
    try {
      return await fetch(this.opts.url.replace(/\/+$/, "") + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ConnectionError(`cannot reach cantrip at ${this.opts.url} (${(e as Error).message}). Start it with \`cantrip serve\` or set --url / CANTRIP_URL.`);
    }
  }

  /** Server-Sent Events from a path; yields {id, event, data}. */
  async *events(path: string, lastEventId?: string): AsyncGenerator<{ id: string | null; event: string; data: any }> {
    const res = await this.raw("GET", path, undefined, { accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) });
    if (!res.ok || !res.body) {
      const t = await res.text();
      let err: any = {};
      try {
        err = JSON.parse(t).error ?? {};
      } catch {}
      throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? t);
    }
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let idx: number;
      while ((idx = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        let id: string | null = null;
        let event = "message";
        const data: string[] = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith("id:")) id = line.slice(3).trim();
          else if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (!data.length && event === "message") continue;
        let parsed: any = data.join("\n");
        try {
          parsed = JSON.parse(parsed);
        } catch {}
        yield { id, event, data: parsed };
      }
    }
  }
}
