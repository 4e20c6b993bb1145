/**
 * One builder conversation: the transcript, the builder's current message and questions,
 * and the one call its state allows — answer (gathering), approve (awaiting_approval) or
 * rebuild (deployed / failed). Polls while processing; shows the preview URL once deployed.
 */
import { api } from "../api";
import { h, mount } from "../dom";
import { ago, badge } from "../format";
import { errorBox, type Page } from "../page";
import type { Conversation } from "./builds";

function transcript(c: Conversation): HTMLElement {
  return h(
    "ol",
    { class: "chat" },
    h("li", { class: "bubble user" }, h("div", { class: "who" }, "you · request"), c.prompt),
    c.history
      .filter((m) => !(m.role === "user" && m.kind === "prompt"))
      .map((m) => h("li", { class: `bubble ${m.role}` }, h("div", { class: "who" }, `${m.role === "user" ? "you" : m.role} · ${m.kind} · ${ago(m.at)}`), m.message)),
  );
}

export function buildPage(page: Page): void {
  const uuid = page.params[0]!;
  const head = h("div");
  const body = h("div");
  const action = h("div");
  const msg = h("div");
  let shown = "";

  const act = async (path: string, payload?: unknown) => {
    mount(msg);
    try {
      render(await api<Conversation>(`/api/v1/builder-agents/${uuid}/${path}`, { method: "POST", body: payload ?? {} }));
    } catch (e) {
      mount(msg, errorBox(e));
    }
  };
  const messageForm = (id: string, label: string, button: string, path: string) => {
    const text = h("textarea", { id, rows: "4", required: true });
    return h(
      "form",
      {
        class: "answer",
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (text.value.trim()) void act(path, { message: text.value.trim() });
        },
      },
      h("label", { for: id }, label),
      text,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, button)),
    );
  };
  const render = (c: Conversation) => {
    const sig = JSON.stringify([c.status, c.message, c.history.length, c.builder?.preview_url]);
    if (sig === shown) return;
    shown = sig;
    mount(head, h("div", { class: "page-head" }, h("h1", null, c.name ?? "Untitled", " ", h("span", { id: "conv-status" }, badge(c.status))), c.agent_id ? h("a", { class: "button", href: `#/agents/${c.agent_id}` }, "Open agent") : null));
    mount(
      body,
      transcript(c),
      // The current message is usually the last transcript entry already; repeat it only when it is new.
      c.message && c.message !== c.history.at(-1)?.message ? h("div", { class: "callout", id: "conv-message" }, h("div", { class: "who" }, "builder"), c.message) : null,
      c.questions.length ? h("ol", { class: "questions", id: "conv-questions" }, c.questions.map((q) => h("li", null, q))) : null,
      c.failure ? h("p", { class: "error" }, h("code", null, c.failure.code ?? "failed"), " ", c.failure.message ?? "") : null,
      c.builder?.preview_url
        ? h("div", { class: "callout ok", id: "preview" }, h("strong", null, "Deployed. "), "Preview: ", h("a", { href: c.builder.preview_url, target: "_blank", rel: "noopener" }, c.builder.preview_url), c.builder.service_token ? h("p", { class: "small" }, "Service token (agent key): ", h("code", { class: "secret" }, c.builder.service_token)) : null)
        : null,
    );
    if (c.status === "processing") mount(action, h("p", { class: "muted busy-line" }, h("span", { class: "spinner" }), " The builder is working…"));
    else if (c.status === "gathering") mount(action, messageForm("answer", "Your answer", "Send answer", "answers"));
    else if (c.status === "awaiting_approval") mount(action, h("div", { class: "actions" }, h("button", { class: "primary", id: "approve", onclick: () => act("approve") }, "Approve and build")));
    else mount(action, messageForm("rebuild", "Ask for a change", "Rebuild", "rebuild"));
  };

  mount(page.root, h("p", { class: "crumbs" }, h("a", { href: "#/builds" }, "← Builder")), head, h("div", { class: "card conversation" }, body, msg, action));
  page.poll(1500, async () => {
    try {
      const c = await api<Conversation>(`/api/v1/builder-agents/${encodeURIComponent(uuid)}`);
      if (page.alive) render(c);
    } catch (e) {
      if (page.alive) mount(body, errorBox(e));
      return false;
    }
  });
}
