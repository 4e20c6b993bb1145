/** Builder conversations: the list (GET /api/v1/builder-agents) and a form to start one. */
import { api, apiPage } from "../api";
import { h, mount } from "../dom";
import { ago, badge } from "../format";
import { errorBox, type Page } from "../page";

export interface Conversation {
  uuid: string;
  name: string | null;
  status: string;
  prompt: string;
  message: string | null;
  questions: string[];
  builder: { uuid: string; name: string; preview_url: string | null; service_token?: string | null; review_passed?: boolean; qa_passed?: boolean } | null;
  agent_id: string | null;
  allowed_calls: string[];
  failure: { code?: string; message?: string } | null;
  history: { role: string; kind: string; message: string; at: string | null }[];
  created_at: string | null;
  updated_at: string | null;
}

export function buildsPage(page: Page): void {
  const list = h("div", { class: "card flush" }, h("p", { class: "muted pad" }, "Loading…"));
  const msg = h("div");
  const prompt = h("textarea", { id: "build-prompt", rows: "5", required: true, minlength: "10", placeholder: "Every morning, fetch new leads from my CRM and post a summary to Slack." });
  const name = h("input", { id: "build-name", placeholder: "optional" });
  const skipApproval = h("input", { id: "build-skip", type: "checkbox" });
  const submit = h("button", { type: "submit", class: "primary" }, "Start building");
  const form = h(
    "form",
    {
      class: "card",
      id: "build-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          const c = await api<Conversation>("/api/v1/builder-agents", { body: { prompt: prompt.value.trim(), ...(name.value.trim() ? { name: name.value.trim() } : {}), skip_approval: skipApproval.checked } });
          location.hash = `#/builds/${c.uuid}`;
        } catch (err) {
          mount(msg, errorBox(err));
          submit.disabled = false;
        }
      },
    },
    h("h2", null, "Start a conversation"),
    h("p", { class: "muted small" }, "The builder asks what it still needs to know, shows you a plan to approve, then builds, checks and deploys it."),
    h("div", { class: "field" }, h("label", { for: "build-prompt" }, "What do you want?"), prompt),
    h("div", { class: "field" }, h("label", { for: "build-name" }, "Name"), name),
    h("label", { class: "check" }, skipApproval, " Build without asking me to approve the plan"),
    msg,
    h("div", { class: "actions" }, submit),
  );
  mount(page.root, h("div", { class: "page-head" }, h("h1", null, "Builder")), h("div", { class: "grid2 wide-left" }, list, form));
  page.poll(3000, async () => {
    try {
      const { data } = await apiPage<Conversation>("/api/v1/builder-agents?limit=50");
      if (!page.alive) return false;
      mount(
        list,
        data.length
          ? h(
              "ul",
              { class: "convs", id: "conversations" },
              data.map((c) =>
                h("li", null, h("a", { href: `#/builds/${c.uuid}` }, h("div", { class: "row spread" }, h("strong", null, c.name ?? "Untitled"), badge(c.status)), h("div", { class: "muted small clamp" }, c.prompt), h("div", { class: "muted small" }, ago(c.updated_at)))),
              ),
            )
          : h("div", { class: "empty" }, h("p", null, "No conversations yet.")),
      );
    } catch (e) {
      if (page.alive) mount(list, errorBox(e));
      return false;
    }
  });
}
