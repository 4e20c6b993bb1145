/** The agents list: every agent of the workspace with its status, live version and endpoint. */
import { apiPage } from "../api";
import { h, mount } from "../dom";
import { ago, badge } from "../format";
import { errorBox, type Page } from "../page";

export interface AgentView {
  id: string;
  slug: string;
  name: string;
  status: string;
  prompt: string | null;
  latestVersion: number | null;
  liveVersion: number | null;
  endpointUrl: string | null;
  appUrl: string | null;
  public: boolean;
  failure: { code?: string; message?: string } | null;
  /** Per-call limits the next call runs with, and the ones set on this agent. */
  limits?: Record<string, number>;
  limitOverrides?: Record<string, number>;
  createdAt: string | null;
  updatedAt: string | null;
}

export function agentsPage(page: Page): void {
  const list = h("div", { class: "card flush" }, h("p", { class: "muted pad" }, "Loading…"));
  mount(
    page.root,
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Agents"),
      h("div", { class: "actions" }, h("a", { class: "button", href: "#/new?tab=upload" }, "Upload code"), h("a", { class: "button primary", href: "#/new" }, "New backend")),
    ),
    list,
  );
  page.poll(3000, async () => {
    try {
      const { data } = await apiPage<AgentView>("/v1/agents?limit=100");
      if (!page.alive) return false;
      if (!data.length) {
        mount(list, h("div", { class: "empty" }, h("p", null, "No agents yet."), h("p", null, h("a", { href: "#/new" }, "Describe a backend"), " or ", h("a", { href: "#/new?tab=upload" }, "upload your own code"), ".")));
        return;
      }
      mount(
        list,
        h(
          "table",
          { class: "table", id: "agents-table" },
          h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "Status"), h("th", null, "Live"), h("th", null, "Endpoint"), h("th", null, "Updated"))),
          h(
            "tbody",
            null,
            data.map((a) =>
              h(
                "tr",
                { "data-agent": a.slug },
                h("td", null, h("a", { href: `#/agents/${a.id}`, class: "strong" }, a.name), h("div", { class: "muted small" }, a.slug)),
                h("td", null, badge(a.status)),
                h("td", null, a.liveVersion === null ? "—" : `v${a.liveVersion}`),
                h("td", { class: "mono small" }, a.endpointUrl ?? "—"),
                h("td", { class: "muted small" }, ago(a.updatedAt)),
              ),
            ),
          ),
        ),
      );
      return true;
    } catch (e) {
      if (page.alive) mount(list, errorBox(e));
      return false;
    }
  });
}
