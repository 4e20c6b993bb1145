/** The agent page: header, try-it and keys side by side, activity, limits, then versions with report and source. */
import { api } from "../api";
import { h, mount } from "../dom";
import { activitySection } from "../agent/activity";
import { AgentContext } from "../agent/context";
import { agentHeader } from "../agent/header";
import { keysSection } from "../agent/keys";
import { limitsSection } from "../agent/limits";
import { tryItSection } from "../agent/try-it";
import { versionsSection } from "../agent/versions";
import { errorBox, type Page } from "../page";
import type { AgentView } from "./agents";

export async function agentPage(page: Page): Promise<void> {
  const id = page.params[0]!;
  mount(page.root, h("p", { class: "muted" }, "Loading…"));
  let agent: AgentView;
  try {
    agent = await api<AgentView>(`/v1/agents/${encodeURIComponent(id)}`);
  } catch (e) {
    mount(page.root, h("p", null, h("a", { href: "#/" }, "← Agents")), errorBox(e));
    return;
  }
  if (!page.alive) return;
  const ctx = new AgentContext(page, agent);
  mount(
    page.root,
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "← Agents")),
    agentHeader(ctx),
    h("div", { class: "grid2" }, tryItSection(ctx), keysSection(ctx)),
    activitySection(ctx),
    limitsSection(ctx),
    versionsSection(ctx),
  );
}
