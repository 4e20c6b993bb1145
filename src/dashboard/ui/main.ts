/**
 * The dashboard's entry point and hash router (#/agents/…, so the server only serves `/`).
 * It shows sign-in until the server confirms a session, draws the top bar, and gives each
 * page a fresh Page whose timers and streams stop on navigation.
 */
import { session } from "./api";
import { h, mount } from "./dom";
import { createPage, type Page } from "./page";
import { agentPage } from "./pages/agent";
import { agentsPage } from "./pages/agents";
import { buildPage } from "./pages/build";
import { buildsPage } from "./pages/builds";
import { newBackendPage } from "./pages/new-backend";
import { signInPage } from "./pages/sign-in";

type Route = [RegExp, (page: Page, query: URLSearchParams) => void | Promise<void>, string];

const routes: Route[] = [
  [/^\/?$/, agentsPage, "agents"],
  [/^\/agents\/?$/, agentsPage, "agents"],
  [/^\/agents\/([^/]+)$/, agentPage, "agents"],
  [/^\/new$/, newBackendPage, "new"],
  [/^\/builds\/?$/, buildsPage, "builds"],
  [/^\/builds\/([^/]+)$/, buildPage, "builds"],
];

const app = document.getElementById("app")!;
let current: ReturnType<typeof createPage> | null = null;
let notice: string | null = null;

function nav(active: string): HTMLElement {
  const link = (href: string, key: string, text: string) => h("a", { href, class: active === key ? "on" : "" }, text);
  return h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#/" }, h("span", { class: "logo" }, "✶"), " cantrip"),
    h("nav", null, link("#/", "agents", "Agents"), link("#/new", "new", "New backend"), link("#/builds", "builds", "Builder")),
    h("div", { class: "spacer" }),
    h("a", { class: "muted", href: "/docs", target: "_blank", rel: "noopener" }, "API docs"),
    h(
      "button",
      {
        class: "ghost",
        id: "sign-out",
        onclick: async () => {
          await session.signOut();
          notice = "Signed out.";
          render();
        },
      },
      "Sign out",
    ),
  );
}

function render(): void {
  current?.leave();
  current = null;
  if (!session.signedIn) {
    signInPage(app, notice, () => {
      notice = null;
      render();
    });
    return;
  }
  const [path = "", qs = ""] = location.hash.replace(/^#/, "").split("?");
  const route = routes.find(([re]) => re.test(path));
  const main = h("main", { class: "content" });
  mount(app, nav(route?.[2] ?? ""), main);
  if (!route) {
    mount(main, h("h1", null, "Not found"), h("p", null, h("a", { href: "#/" }, "Back to agents")));
    return;
  }
  const params = (route[0].exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
  const page = createPage(main, params);
  current = page;
  void Promise.resolve(route[1](page, new URLSearchParams(qs))).catch((e) => console.error(e));
}

session.onExpired = (message) => {
  session.forget();
  notice = message;
  render();
};
window.addEventListener("hashchange", render);
// Earlier versions kept the platform token here; a credential must not outlive the upgrade.
try {
  localStorage.removeItem("cantrip.token");
} catch {}
void session
  .resume()
  .catch(() => false)
  .then(render);
