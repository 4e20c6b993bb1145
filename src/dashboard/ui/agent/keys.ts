/**
 * Agent API keys: list, create, revoke and rotate. A new raw key is shown exactly once (the
 * server never returns it again) and handed to the try-it panel.
 */
import { api, apiPage } from "../api";
import { h, mount } from "../dom";
import { ago, badge } from "../format";
import { errorBox } from "../page";
import type { AgentContext } from "./context";

interface ApiKey {
  id: string;
  name: string;
  status: string;
  prefix: string;
  lastFour: string;
  createdAt: string | null;
  lastUsedAt: string | null;
}

export function keysSection(ctx: AgentContext): HTMLElement {
  const base = `/v1/agents/${ctx.agent.id}/api-keys`;
  const table = h("div", { class: "flush" });
  const reveal = h("div");
  const name = h("input", { id: "key-name", name: "key-name", placeholder: "Key name", value: "dashboard", maxlength: "120" });

  const showOnce = (raw: string, title: string) => {
    ctx.emit("key", raw);
    mount(
      reveal,
      h(
        "div",
        { class: "callout", id: "new-key" },
        h("strong", null, title),
        h("p", { class: "small" }, "Copy it now — it is shown only once. It has been put into the try-it panel."),
        h("code", { class: "secret", id: "new-key-value" }, raw),
        h("button", { type: "button", class: "small", onclick: () => void navigator.clipboard?.writeText(raw) }, "Copy"),
      ),
    );
  };
  const act = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      mount(reveal, errorBox(e));
    }
    await load();
  };
  const load = async () => {
    try {
      // Every page (newest first, up to 100 revoked keys kept): one page could hide the
      // oldest active keys, the ones to revoke when a create answers key_limit_reached.
      const data: ApiKey[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: ApiKey[]; nextCursor: string | null } = await apiPage<ApiKey>(`${base}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        data.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor && ctx.page.alive);
      if (!ctx.page.alive) return;
      mount(
        table,
        data.length
          ? h(
              "table",
              { class: "table", id: "keys-table" },
              h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "Key"), h("th", null, "Status"), h("th", null, "Last used"), h("th", null, ""))),
              h(
                "tbody",
                null,
                data.map((k) =>
                  h(
                    "tr",
                    { "data-key": k.id },
                    h("td", null, k.name),
                    h("td", { class: "mono small nowrap" }, `${k.prefix}…${k.lastFour}`),
                    h("td", null, badge(k.status)),
                    h("td", { class: "muted small" }, ago(k.lastUsedAt)),
                    h(
                      "td",
                      { class: "right nowrap" },
                      k.status === "active"
                        ? [
                            h("button", { class: "small", onclick: () => act(async () => showOnce((await api<{ key: string }>(`${base}/${k.id}/rotate`, { method: "POST" })).key, `Rotated “${k.name}”`)) }, "Rotate"),
                            " ",
                            h("button", { class: "small danger", onclick: () => act(async () => void (await api(`${base}/${k.id}/revoke`, { method: "POST" }))) }, "Revoke"),
                          ]
                        : null,
                    ),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted pad" }, "No keys yet. Create one to call this backend."),
      );
    } catch (e) {
      mount(table, errorBox(e));
    }
  };
  void load();
  return h(
    "section",
    { class: "card" },
    h("h2", null, "API keys"),
    h(
      "form",
      {
        class: "row",
        id: "key-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void act(async () => showOnce((await api<{ key: string }>(base, { body: { name: name.value.trim() || "default" } })).key, `New key “${name.value.trim() || "default"}”`));
        },
      },
      name,
      h("button", { type: "submit", class: "primary", id: "create-key" }, "Create key"),
    ),
    reveal,
    table,
  );
}
