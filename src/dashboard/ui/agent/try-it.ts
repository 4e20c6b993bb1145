/**
 * The try-it panel: one call to the live backend with an agent key the user pastes (or just
 * created). The target is any declared route: `POST /v1/invoke/{slug}` for a backend with a
 * `POST /` (the answer shows the backend's own status and latency from the envelope), or the
 * route through the same-origin app URL `/apps/{slug}/path` with its method, an editable path
 * and, for methods with a body, a JSON body. A platform error shows its catalogue code
 * (revoked key, not deployed...). The default target is the first call the CLI prints; above
 * the form is that call as a ready-to-paste curl line (src/lib/first-call.ts), with the key.
 */
import { api, call, errorOf } from "../api";
import { callTargets, curlLine, firstCall, methodHasBody, routeMatches, samplePath, type CallTarget, type FirstCall } from "../../../lib/first-call";
import { h, mount } from "../dom";
import { pretty } from "../format";
import type { AgentContext } from "./context";

export function tryItSection(ctx: AgentContext): HTMLElement {
  const key = h("input", { id: "try-key", name: "try-key", placeholder: "ctp_ak_…", autocomplete: "off", spellcheck: "false", class: "mono" });
  const body = h("textarea", { id: "try-body", name: "try-body", rows: "6", class: "code-input", spellcheck: "false", value: '{\n  "name": "Ada"\n}' });
  const result = h("div", { id: "try-result", "aria-live": "polite" });
  const send = h("button", { type: "submit", class: "primary", id: "try-send" }, "Invoke");
  const curl = h("pre", { class: "code", id: "first-call" });
  let touched = false;
  body.addEventListener("input", () => (touched = true));
  const invokeTarget: CallTarget = { method: "POST", route: "/", via: "invoke" };
  let targets: CallTarget[] = [invokeTarget];
  const targetSel = h("select", { id: "try-target", name: "try-target" });
  const pathIn = h("input", { id: "try-path", name: "try-path", class: "mono", spellcheck: "false", autocomplete: "off", value: "/" });
  const bodyField = h("div", { class: "field" }, h("label", { for: "try-body" }, "JSON body"), body);
  const target = () => targets[Number(targetSel.value)] ?? invokeTarget;
  const showTarget = () => {
    const t = target();
    pathIn.disabled = t.via === "invoke";
    if (t.via === "invoke") pathIn.value = "/";
    bodyField.hidden = !methodHasBody(t.method);
  };
  const setTargets = (list: CallTarget[], pick: number, path?: string) => {
    targets = list.length ? list : [invokeTarget];
    mount(targetSel, targets.map((t, i) => h("option", { value: String(i) }, t.via === "invoke" ? `POST /v1/invoke/${ctx.agent.slug}` : `${t.method} /apps/${ctx.agent.slug}${t.route}`)));
    targetSel.value = String(Math.max(0, Math.min(pick, targets.length - 1)));
    pathIn.value = path ?? samplePath(target().route);
    showTarget();
  };
  targetSel.addEventListener("change", () => {
    pathIn.value = samplePath(target().route);
    showTarget();
  });
  setTargets([invokeTarget], 0);
  let first: FirstCall | null = null;
  const showCurl = () => mount(curl, first ? curlLine(first, key.value.trim() || "$KEY") : "");
  key.addEventListener("input", showCurl);
  const loadFirst = async () => {
    const a = ctx.agent as { liveVersion: number | null; endpointUrl: string | null };
    if (a.liveVersion === null || !a.endpointUrl) return;
    try {
      const v = await api<{ described?: { routes?: { method: string; path: string; input?: unknown }[] } | null; spec?: { examples?: unknown[] } | null }>(`/v1/agents/${ctx.agent.id}/versions/${a.liveVersion}`);
      const base = a.endpointUrl.slice(0, a.endpointUrl.lastIndexOf("/v1/invoke/"));
      const routes = v.described?.routes ?? [];
      first = firstCall(base, ctx.agent.slug, routes, (v.spec?.examples ?? []) as never[]);
      showCurl();
      // Preselect the same call: invoke, or the route its app URL hits (path and query kept).
      const list = callTargets(routes);
      if (first.via === "invoke") setTargets(list, 0);
      else {
        const appPath = first.url.slice(first.url.indexOf(`/apps/${ctx.agent.slug}`) + `/apps/${ctx.agent.slug}`.length) || "/";
        const i = list.findIndex((t) => t.via === "app" && routeMatches({ method: t.method, path: t.route }, first!.method, appPath));
        setTargets(list, Math.max(0, i), appPath);
      }
      if (!touched && first.body !== undefined) body.value = pretty(first.body);
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
  ctx.on("key", (k) => {
    key.value = k;
    showCurl();
  });
  ctx.on("example", (ex) => {
    if (!touched) body.value = pretty(ex);
  });

  const invoke = async () => {
    const t = target();
    let payload: string | undefined;
    if (methodHasBody(t.method)) {
      payload = body.value.trim() || "{}";
      try {
        payload = JSON.stringify(JSON.parse(payload));
      } catch (e) {
        mount(result, h("p", { class: "error" }, h("code", null, "invalid_json"), ` ${(e as Error).message}`));
        return;
      }
    }
    let path = pathIn.value.trim() || "/";
    if (!path.startsWith("/")) path = "/" + path;
    send.disabled = true;
    const started = performance.now();
    try {
      const bearer = key.value.trim() || null;
      const slug = encodeURIComponent(ctx.agent.slug);
      const r = t.via === "invoke" ? await call(`/v1/invoke/${slug}`, { bearer, body: payload }) : await call(`/apps/${slug}${path}`, { bearer, method: t.method, body: payload });
      const rtt = Math.round(performance.now() - started);
      if (t.via === "app" && (r.status < 400 || !isPlatformError(r.body))) {
        mount(
          result,
          h("p", { class: "result-line" }, h("span", { class: `badge ${r.status < 400 ? "ok" : "bad"}` }, `HTTP ${r.status}`), ` ${t.method} /apps/${ctx.agent.slug}${path} · ${rtt} ms round trip`),
          h("pre", { class: "code", id: "try-response" }, pretty(r.body)),
        );
      } else if (t.via === "invoke" && r.status === 200) {
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
      h("p", { class: "muted small" }, h("code", null, `POST /v1/invoke/${ctx.agent.slug}`), " forwards the body to the backend as ", h("code", null, "POST /"), "; any other route is called through the app URL."),
      h("div", { class: "field" }, h("label", { for: "try-target" }, "Call"), targetSel),
      h("div", { class: "field" }, h("label", { for: "try-path" }, "Path and query"), pathIn),
      h("div", { class: "field" }, h("label", { for: "try-key" }, "Agent key"), key),
      bodyField,
      h("div", { class: "actions" }, send),
    ),
    result,
  );
}

/** A platform error envelope (`{error:{code}}`) rather than the backend's own answer. */
function isPlatformError(body: unknown): boolean {
  const e = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof e?.code === "string";
}
