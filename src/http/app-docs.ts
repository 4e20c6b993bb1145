/**
 * Per-backend API docs: an OpenAPI 3.1 document built from the live version's described
 * routes (the SDK's describe()), and a self-contained try-it page that asks for an agent
 * key and sends requests from the browser. No external assets; the page's one script and
 * one stylesheet carry a per-response CSP nonce, and the agent key it is given stays in the
 * page's memory (never in storage another page of the origin could read).
 */
import { randomBytes } from "node:crypto";
import type { Db } from "../db";
import { getVersion, type VersionRow } from "../deploy";
import type { LiveEntry } from "../gateway";

/**
 * What a backend's callers are told it does (OpenAPI `info.description`, MCP `instructions`):
 * the live version's plan summary, written for callers; undefined for uploaded code. Never the
 * workspace's requirements prompt — callers learn only what is theirs (THREAT-MODEL.md §6),
 * and a prompt can name internal details (pricing rules, secrets' purposes, other systems).
 */
export async function backendSummary(db: Db, entry: LiveEntry): Promise<string | undefined> {
  return entry.version === null ? undefined : summaryOf(await getVersion(db, entry.agent.id, entry.version));
}

/** The plan summary of a version row (see backendSummary). */
function summaryOf(v: VersionRow): string | undefined {
  const summary = (v.spec as { summary?: unknown } | null)?.summary;
  return typeof summary === "string" && summary.trim() ? summary : undefined;
}

/** The OpenAPI 3.1 document of `entry`'s live version, served at `serverUrl`. */
export async function backendOpenApi(db: Db, entry: LiveEntry, serverUrl: string) {
  const v = entry.version === null ? null : await getVersion(db, entry.agent.id, entry.version);
  const described = v?.described ?? { routes: [], scheduled: false };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of described.routes) {
    const path = r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const params = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const method = r.method.toLowerCase();
    const hasBody = !["get", "head", "delete"].includes(method);
    (paths[path] ??= {})[method] = {
      summary: r.summary ?? `${r.method} ${r.path}`,
      ...(params.length ? { parameters: params } : {}),
      ...(hasBody && r.input ? { requestBody: { required: true, content: { "application/json": { schema: r.input } } } } : {}),
      ...(!hasBody && r.input ? { description: "Input is read from the query string." } : {}),
      responses: {
        "200": { description: "OK", content: { "application/json": { schema: r.output ?? {} } } },
        "400": { description: "Invalid input (field errors)" },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: entry.agent.name, version: String(entry.version ?? 0), description: v ? summaryOf(v) : undefined },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { agentKey: { type: "http", scheme: "bearer", description: "Agent API key: ctp_ak_..." } } },
    security: entry.agent.public ? [] : [{ agentKey: [] }],
    paths,
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The try-it page's CSP: only its own nonced script and style, calls to its own origin, no framing. */
export function tryItPageHeaders(nonce: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    "x-frame-options": "DENY",
    // An app page that opened this one (same apps origin) keeps no handle on it.
    "cross-origin-opener-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

/** The try-it page for `slug`, reading its OpenAPI document from `specUrl`; `nonce` goes into its CSP. */
export function tryItPage(slug: string, specUrl: string): { html: string; nonce: string } {
  const nonce = randomBytes(16).toString("base64");
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(slug)} · API</title>
<style nonce="${nonce}">body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#1b1b1f}
input,select,textarea,button{font:inherit}textarea{width:100%;min-height:8rem;font-family:ui-monospace,monospace}
pre{background:#f4f4f6;padding:.75rem;overflow:auto;border-radius:6px}.route{border:1px solid #ddd;border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}
code{background:#f4f4f6;padding:0 .25rem;border-radius:3px}</style></head><body>
<h1>${esc(slug)}</h1><p>Agent key (not needed for public agents): <input id="key" size="48" placeholder="ctp_ak_..."> <button id="load">Load</button></p>
<div id="routes"></div><h2>Try it</h2>
<p><select id="method"><option>GET</option><option>POST</option><option>PUT</option><option>PATCH</option><option>DELETE</option></select>
<input id="path" value="/" size="40"> <button id="send">Send</button></p><textarea id="body">{}</textarea><h3>Response</h3><pre id="out">—</pre>
<script nonce="${nonce}">
const base=location.pathname.replace(/\\/_docs\\/?$/,"");const $=id=>document.getElementById(id);
function hdrs(){const h={"content-type":"application/json"};const k=$("key").value.trim();if(k)h.authorization="Bearer "+k;return h}
async function load(){const r=await fetch(${JSON.stringify(specUrl).replace(/</g, "\\u003c")},{headers:hdrs()});const j=await r.json();const box=$("routes");box.textContent="";
if(!r.ok){box.textContent=(j.error&&j.error.message)||("HTTP "+r.status);return}
for(const [p,ops] of Object.entries(j.paths||{}))for(const [m,op] of Object.entries(ops)){const d=document.createElement("div");d.className="route";
const s=op.requestBody?JSON.stringify(op.requestBody.content["application/json"].schema,null,1):"";d.innerHTML="<b></b> <code></code><pre></pre>";
d.querySelector("b").textContent=m.toUpperCase();d.querySelector("code").textContent=p;d.querySelector("pre").textContent=s||"(no body)";
d.onclick=()=>{$("method").value=m.toUpperCase();$("path").value=p};box.appendChild(d)}}
async function send(){const m=$("method").value;const init={method:m,headers:hdrs()};if(m!=="GET"&&m!=="DELETE")init.body=$("body").value;
const t0=performance.now();const r=await fetch(base+$("path").value,init);const txt=await r.text();
$("out").textContent=r.status+" ("+Math.round(performance.now()-t0)+" ms)\\n"+(()=>{try{return JSON.stringify(JSON.parse(txt),null,2)}catch{return txt}})()}
$("load").onclick=load;$("send").onclick=send;load();
</script></body></html>`;
  return { html, nonce };
}
