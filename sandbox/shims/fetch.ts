/**
 * Global fetch: every request goes to the host's egress proxy, which checks the host
 * against the agent's allow-list, resolves and checks the address, injects approved
 * secrets ({{secret:NAME}} in header values) and caps time and size. An AbortSignal
 * (init.signal or the Request's) rejects the call with the signal's reason at once; the
 * host request itself still ends within the egress time cap.
 */
import { hostCall, host } from "./host";
import { Request, Response, type RequestInit } from "./body";
import { TextEncoder, ownBuffer } from "./encoding";
import { Headers } from "./headers";

type FetchInput = string | Request | URL | { href: string };

/** The global fetch: the host attributes it to the call whose slice is running. */
export function fetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  return fetchFor(undefined, input, init);
}

/** ctx.fetch: a fetch that names its call, so its result reaches that call wherever it was awaited. */
export function fetchAs(call: number | undefined): typeof fetch {
  return call === undefined ? fetch : (input, init) => fetchFor(call, input, init);
}

async function fetchFor(call: number | undefined, input: FetchInput, init?: RequestInit): Promise<Response> {
  const req = input instanceof Request && !init ? input : new Request(input instanceof Request ? input : typeof input === "object" && input !== null && "href" in input ? String(input.href) : (input as string), init);
  const signal = req.signal;
  if (signal.aborted) throw signal.reason;
  const raw = await req._rawAsync();
  const body = raw === null ? undefined : typeof raw === "string" ? ownBuffer(new TextEncoder().encode(raw)) : ownBuffer(raw);
  const pending = host.call("fetch", JSON.stringify({ url: req.url, method: req.method, headers: [...req.headers] }), body, call);
  const [meta, bytes] = await new Promise<[string, ArrayBuffer | undefined]>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (r) => {
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
  const m = JSON.parse(meta) as { status: number; statusText: string; headers: [string, string][]; url: string };
  const nullBody = m.status === 204 || m.status === 205 || m.status === 304 || req.method === "HEAD";
  return Response._with(
    { status: m.status, statusText: m.statusText, headers: new Headers(m.headers), type: "basic", url: m.url, redirected: m.url !== req.url },
    nullBody ? null : new Uint8Array(bytes ?? new ArrayBuffer(0)),
  );
}

export { hostCall };
