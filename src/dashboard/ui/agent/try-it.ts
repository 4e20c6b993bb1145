/**
 * The try-it panel: POST /v1/invoke/{slug} with an agent key the user pastes (or just
 * created) and a JSON body, then shows the platform status, the backend's own status and
 * latency, and the response — or the platform error code (revoked key, not deployed...).
 * Above the form, the same ready-to-paste curl line the CLI prints (src/lib/first-call.ts),
 * built from the live version's routes and worked examples, with the key once there is one.
 */
import { api, call, errorOf } from "../api";
import { curlLine, firstCall, type FirstCall } from "../../../lib/first-call";
import { h, mount } from "../dom";
import { pretty } from "../format";
import type { AgentContext } from "./context";

export function tryItSection(ctx: AgentContext): HTMLElement {
  const key = h("input", { id: "try-key", name: "try-key", placeholder: "ctp_ak_…", autocomplete: "off", spellcheck: "false", class: "mono" });
  const body = h("textarea", { id: "try-body", name: "try-body", rows: "6", class: "code-input", spellcheck: "false", value: '{\n  "name": "Ada"\n}' });
  const result = h("div", { id: "try-result", "aria-live": "polite" });
  const send = h("button", { type: "submit", class: "primary", id: "try-send" }, "Invoke");
  const curl = h("pre", { class: "code", id: "first-call" });
  let first: FirstCall | null = null;
  const showCurl = () => mount(curl, first ? curlLine(first, key.value.trim() || "$KEY") : "");
  key.addEventListener("input", showCurl);
  const loadFirst = async () => {
    const a = ctx.agent as { liveVersion: number | null; endpointUrl: string | null };
    if (a.liveVersion === null || !a.endpointUrl) return;
    try {
      const v = await api<{ described?: { routes?: { method: string; path: string; input?: unknown }[] } | null; spec?: { examples?: unknown[] } | null }>(`/v1/agents/${ctx.agent.id}/versions/${a.liveVersion}`);
      const base = a.endpointUrl.slice(0, a.endpointUrl.lastIndexOf("/v1/invoke/"));
      first = firstCall(base, ctx.agent.slug, v.described?.routes ?? [], (v.spec?.examples ?? []) as never[]);
      showCurl();
    } catch {
      // The line is a convenience; the form below still works.
    }
  };
  let shownFor: number | null = null;
  const refresh = () => {
    const live = (ctx.agent as { liveVersion: number | null }).liveVersion;
    if (live !== shownFor) {
      shownFor = live;
      void loadFirst();
    }
  };
  ctx.on("agent", refresh);
  refresh();
  let touched = false;
  body.addEventListener("input", () => (touched = true));
  ctx.on("key", (k) => {
    key.value = k;
    showCurl();
  });
  ctx.on("example", (ex) => {
    if (!touched) body.value = pretty(ex);
  });

  const invoke = async () => {
    let payload: string = body.value.trim() || "{}";
    try {
      payload = JSON.stringify(JSON.parse(payload));
    } catch (e) {
      mount(result, h("p", { class: "error" }, h("code", null, "invalid_json"), ` ${(e as Error).message}`));
      return;
    }
    send.disabled = true;
    const started = performance.now();
    try {
      const r = await call(`/v1/invoke/${encodeURIComponent(ctx.agent.slug)}`, { bearer: key.value.trim() || null, body: payload });
      const rtt = Math.round(performance.now() - started);
      if (r.status === 200) {
        const d = (r.body as { data: { status: number; ok: boolean; latencyMs: number; response: unknown } }).data;
        mount(
          result,
          h("p", { class: "result-line" }, h("span", { class: `badge ${d.ok ? "ok" : "bad"}` }, `backend ${d.status}`), ` ${d.latencyMs} ms in the sandbox · ${rtt} ms round trip`),
          h("pre", { class: "code", id: "try-response" }, pretty(d.response)),
        );
      } else {
        const err = errorOf(r.status, r.body);
        mount(result, h("p", { class: "result-line" }, h("span", { class: "badge bad" }, `HTTP ${r.status}`), " ", h("code", { class: "err-code" }, err.code)), h("p", { class: "error" }, err.message));
      }
    } catch (e) {
      mount(result, h("p", { class: "error" }, String((e as Error).message)));
    } finally {
      send.disabled = false;
      ctx.emit("invoked", null);
    }
  };

  return h(
    "section",
    { class: "card" },
    h("h2", null, "Try it"),
    h("p", { class: "muted small" }, "A first call from a terminal:"),
    curl,
    h(
      "form",
      {
        id: "try-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void invoke();
        },
      },
      h("p", { class: "muted small" }, "POST ", h("code", null, `/v1/invoke/${ctx.agent.slug}`), " — the body is forwarded to the backend as ", h("code", null, "POST /"), "."),
      h("div", { class: "field" }, h("label", { for: "try-key" }, "Agent key"), key),
      h("div", { class: "field" }, h("label", { for: "try-body" }, "JSON body"), body),
      h("div", { class: "actions" }, send),
    ),
    result,
  );
}
