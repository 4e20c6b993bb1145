/**
 * The agent page's header: name, status, live version, endpoint and links (OpenAPI docs of
 * the backend, its app URL), with deploy and delete. It polls the agent quickly while a
 * generation or deployment is running and slowly otherwise, and tells the other sections.
 */
import { api } from "../api";
import { h, mount } from "../dom";
import { BUSY, badge } from "../format";
import { errorBox } from "../page";
import type { AgentView } from "../pages/agents";
import type { AgentContext } from "./context";

export function agentHeader(ctx: AgentContext): HTMLElement {
  const box = h("div", { class: "agent-head" });
  const msg = h("div");
  const render = (a: AgentView) => {
    mount(
      box,
      h(
        "div",
        { class: "page-head" },
        h("div", null, h("h1", null, a.name, " ", h("span", { id: "agent-status" }, badge(a.status))), h("p", { class: "muted" }, h("code", null, a.slug), a.liveVersion !== null ? ` · live v${a.liveVersion}` : " · not deployed", a.latestVersion !== null ? ` · latest v${a.latestVersion}` : "")),
        h(
          "div",
          { class: "actions" },
          // The app's docs live with the app, on its own origin when it has one.
          h("a", { class: "button", href: `${a.appUrl ?? `/apps/${encodeURIComponent(a.slug)}/`}_docs`, target: "_blank", rel: "noopener" }, "OpenAPI docs"),
          h("button", { class: "primary", id: "deploy-latest", disabled: BUSY.has(a.status) || a.latestVersion === null, onclick: () => act(() => api(`/v1/deploy/${a.id}`, { method: "POST", body: {} })) }, "Deploy latest"),
          h(
            "button",
            {
              class: "danger",
              onclick: async () => {
                if (!confirm(`Delete ${a.name}, its versions, keys and data?`)) return;
                await act(() => api(`/v1/agents/${a.id}`, { method: "DELETE" }));
                location.hash = "#/";
              },
            },
            "Delete",
          ),
        ),
      ),
      a.endpointUrl ? h("p", { class: "endpoint" }, h("span", { class: "muted" }, "Endpoint "), h("code", { id: "endpoint-url" }, `POST ${a.endpointUrl}`)) : null,
      a.failure ? h("p", { class: "error" }, h("code", null, a.failure.code ?? "failed"), " ", a.failure.message ?? "") : null,
      msg,
    );
  };
  const act = async (fn: () => Promise<unknown>) => {
    mount(msg);
    try {
      await fn();
      await refresh();
    } catch (e) {
      mount(msg, errorBox(e));
    }
  };
  const refresh = async () => {
    const a = await api<AgentView>(`/v1/agents/${ctx.agent.id}`);
    const before = ctx.agent;
    render(a);
    if (JSON.stringify(before) !== JSON.stringify(a)) ctx.emit("agent", a);
  };
  render(ctx.agent);
  let slowTicks = 0;
  ctx.page.poll(1000, async () => {
    // Fast while something is happening, every ~8 s otherwise.
    if (!BUSY.has(ctx.agent.status) && ++slowTicks % 8 !== 0) return;
    await refresh();
  });
  return box;
}
