/**
 * Global fetch: every request goes to the host's egress proxy, which checks the host
 * against the agent's allow-list, resolves and checks the address, injects approved
 * secrets ({{secret:NAME}} in header values) and caps time and size.
 */
import { hostCall, host } from "./host";
import { Request, Response, type RequestInit } from "./body";
import { TextEncoder, ownBuffer } from "./encoding";

type FetchInput = string | Request | { href: string };

/** The global fetch: the host attributes it to the call whose slice is running. */
export function fetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  return fetchFor(undefined, input, init);
}

/** ctx.fetch: a fetch that names its call, so its result reaches that call wherever it was awaited. */
export function fetchAs(call: number | undefined): typeof fetch {
  return call === undefined ? fetch : (input, init) => fetchFor(call, input, init);
}

async function fetchFor(call: number | undefined, input: FetchInput, init?: RequestInit): Promise<Response> {
  const req = input instanceof Request && !init ? input : new Request(typeof input === "object" && "href" in input ? input.href : (input as string), init);
  const raw = req._raw();
  const body = raw === null ? undefined : typeof raw === "string" ? ownBuffer(new TextEncoder().encode(raw)) : ownBuffer(raw);
  const [meta, bytes] = await host.call("fetch", JSON.stringify({ url: req.url, method: req.method, headers: [...req.headers] }), body, call);
  const m = JSON.parse(meta) as { status: number; statusText: string; headers: [string, string][]; url: string };
  const res = new Response(m.status === 204 || m.status === 304 ? null : new Uint8Array(bytes ?? new ArrayBuffer(0)), {
    status: m.status < 200 ? 200 : m.status,
    statusText: m.statusText,
    headers: m.headers,
  });
  res.url = m.url;
  return res;
}

export { hostCall };
