/**
 * Versions: the version table with deploy / roll-back buttons, and for the selected version
 * its validation report (checks from the sandbox, build warnings, declared routes) and its
 * read-only, highlighted source (GET /v1/agents/{id}/versions/{n} → source).
 */
import { api, apiPage } from "../api";
import { h, mount } from "../dom";
import { ago, badge, pretty } from "../format";
import { highlight } from "../highlight";
import { errorBox } from "../page";
import type { AgentContext } from "./context";

interface Check {
  name: string;
  kind: string;
  ok: boolean;
  status?: number;
  errors: string[];
  /** Refusals by the scratch world (no fixture, undeclared host/secret), not the code. */
  environment?: string[];
  /** The backend's own log lines for this check. */
  logs?: string[];
}
interface Version {
  version: number;
  origin: string;
  live: boolean;
  entrypoint: string;
  files: string[];
  described: { routes?: { method: string; path: string; summary?: string }[] } | null;
  validation: { ok: boolean; passed: number; failed: number; checks?: Check[] } | null;
  diagnostics: { text?: string; message?: string }[] | null;
  createdAt: string | null;
  source?: Record<string, string>;
  spec?: { examples?: { request?: { method?: string; path?: string; body?: unknown } }[] } | null;
}

function validationCell(v: Version): HTMLElement {
  if (!v.validation) return h("span", { class: "muted" }, "loaded ✓");
  return h("span", { class: v.validation.ok ? "ok-text" : "bad-text" }, `${v.validation.ok ? "✓" : "✗"} ${v.validation.passed} passed, ${v.validation.failed} failed`);
}

function report(v: Version): HTMLElement {
  const routes = v.described?.routes ?? [];
  const checks = v.validation?.checks ?? [];
  return h(
    "div",
    { id: "validation-report" },
    v.validation
      ? h("p", null, h("strong", null, v.validation.ok ? "Validation passed" : "Validation failed"), ` — ${v.validation.passed} passed, ${v.validation.failed} failed`)
      : h("p", { class: "muted" }, `No worked examples for ${v.origin === "upload" ? "uploaded code" : "this version"}: it was bundled and loaded in the sandbox, which declared the routes below.`),
    checks.length
      ? h(
          "ul",
          { class: "checks" },
          checks.map((c) => h("li", { class: c.ok ? "ok" : "bad" }, h("span", { class: "mark" }, c.ok ? "✓" : "✗"), ` ${c.name} `, h("span", { class: "muted small" }, c.kind, c.status ? ` · HTTP ${c.status}` : ""), c.errors.length ? h("ul", null, c.errors.map((e) => h("li", { class: "small" }, e)), ...(c.ok ? [] : (c.environment ?? []).map((e) => h("li", { class: "small" }, h("strong", null, "sandbox environment: "), e))), c.ok || !c.logs?.length ? null : h("li", { class: "small" }, "backend log:", h("pre", { class: "code small" }, c.logs.join("\n")))) : null)),
        )
      : null,
    routes.length ? h("div", null, h("h4", null, "Routes"), h("ul", { class: "routes" }, routes.map((r) => h("li", null, h("code", null, `${r.method} ${r.path}`), r.summary ? h("span", { class: "muted" }, ` — ${r.summary}`) : null)))) : null,
    v.diagnostics?.length ? h("div", null, h("h4", null, "Build warnings"), h("ul", null, v.diagnostics.map((d) => h("li", { class: "small mono" }, d.text ?? d.message ?? pretty(d))))) : null,
  );
}

function sourceView(v: Version): HTMLElement {
  const files = Object.keys(v.source ?? {});
  const first = files.includes(v.entrypoint) ? v.entrypoint : files[0];
  const code = h("code");
  const pre = h("pre", { class: "code", id: "source-code" }, code);
  const tabs = h("nav", { class: "tabs small" });
  const show = (f: string) => {
    mount(code, highlight(v.source?.[f] ?? ""));
    for (const a of tabs.children) a.classList.toggle("on", a.textContent === f);
  };
  for (const f of files) tabs.append(h("button", { type: "button", class: "tab", onclick: () => show(f) }, f));
  if (first) show(first);
  return h("div", null, tabs, pre);
}

export function versionsSection(ctx: AgentContext): HTMLElement {
  const table = h("div", { class: "flush" });
  const detail = h("div");
  const msg = h("div");
  let selected: number | null = null;
  let key = "";

  const select = async (n: number) => {
    selected = n;
    try {
      const v = await api<Version>(`/v1/agents/${ctx.agent.id}/versions/${n}`);
      if (!ctx.page.alive || selected !== n) return;
      mount(detail, h("div", { class: "grid2" }, h("section", { class: "card" }, h("h3", null, `Validation · v${n}`), report(v)), h("section", { class: "card" }, h("h3", null, `Source · v${n}`), sourceView(v))));
      const ex = v.spec?.examples?.find((e) => (e.request?.method ?? "POST") === "POST" && (e.request?.path ?? "/") === "/");
      if (ex?.request?.body !== undefined) ctx.emit("example", ex.request.body);
    } catch (e) {
      mount(detail, errorBox(e));
    }
  };
  const act = async (fn: () => Promise<unknown>) => {
    mount(msg);
    try {
      await fn();
    } catch (e) {
      mount(msg, errorBox(e));
    }
  };
  const load = async () => {
    const { data } = await apiPage<Version>(`/v1/agents/${ctx.agent.id}/versions?limit=50`);
    if (!ctx.page.alive) return;
    const live = ctx.agent.liveVersion;
    mount(
      table,
      data.length
        ? h(
            "table",
            { class: "table", id: "versions-table" },
            h("thead", null, h("tr", null, h("th", null, "Version"), h("th", null, "Origin"), h("th", null, "Validation"), h("th", null, "Created"), h("th", null, ""))),
            h(
              "tbody",
              null,
              data.map((v) =>
                h(
                  "tr",
                  { class: v.version === selected ? "selected" : "" },
                  h("td", null, h("button", { type: "button", class: "link", onclick: () => select(v.version).then(load) }, `v${v.version}`), " ", v.live ? badge("live") : null),
                  h("td", null, v.origin),
                  h("td", null, validationCell(v)),
                  h("td", { class: "muted small" }, ago(v.createdAt)),
                  h(
                    "td",
                    { class: "right" },
                    v.live
                      ? null
                      : live !== null && v.version < live
                        ? h("button", { class: "small", onclick: () => act(() => api(`/v1/agents/${ctx.agent.id}/rollback`, { body: { version: v.version } })) }, "Roll back")
                        : h("button", { class: "small", onclick: () => act(() => api(`/v1/deploy/${ctx.agent.id}`, { body: { version: v.version } })) }, "Deploy"),
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "muted pad" }, "No versions yet (the generation is still running)."),
    );
    const want = selected ?? live ?? data[0]?.version ?? null;
    if (want !== null && selected === null) await select(want);
  };
  ctx.on("agent", (a) => {
    const k = `${a.status}/${a.latestVersion}/${a.liveVersion}`;
    if (k !== key) {
      key = k;
      void load();
    }
  });
  key = `${ctx.agent.status}/${ctx.agent.latestVersion}/${ctx.agent.liveVersion}`;
  void load().catch((e) => mount(table, errorBox(e)));
  return h("div", { class: "stack" }, h("section", { class: "card" }, h("h2", null, "Versions"), msg, table), detail);
}
