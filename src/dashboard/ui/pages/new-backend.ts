/**
 * "New backend": describe it in plain English (POST /v1/generate, then live progress over
 * SSE) or upload your own code (POST /v1/agents with auto-deploy), prefilled with a small
 * working example.
 */
import { api } from "../api";
import { h, mount } from "../dom";
import { EXAMPLE_CODE, EXAMPLE_NAME } from "../example";
import { errorBox, type Page } from "../page";
import { jobProgress } from "../progress";

function field(label: string, id: string, control: HTMLElement, hint?: string): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("p", { class: "hint" }, hint) : null);
}

function generateForm(page: Page, out: HTMLElement): HTMLElement {
  const name = h("input", { id: "gen-name", name: "name", required: true, minlength: "2", maxlength: "120", placeholder: "Lead Qualification API" });
  const prompt = h("textarea", {
    id: "gen-prompt",
    name: "prompt",
    rows: "8",
    required: true,
    minlength: "10",
    placeholder: "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.",
  });
  const auto = h("input", { id: "gen-auto", type: "checkbox", checked: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Generate");
  return h(
    "form",
    {
      class: "card",
      id: "generate-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          const r = await api<{ agent: { id: string; slug: string; name: string }; job: { id: string } }>("/v1/generate", {
            body: { name: name.value.trim(), prompt: prompt.value.trim(), autoDeploy: auto.checked },
          });
          mount(out, jobProgress(page, r.job, r.agent));
        } catch (err) {
          mount(out, errorBox(err));
        } finally {
          submit.disabled = false;
        }
      },
    },
    field("Name", "gen-name", name),
    field("Requirements", "gen-prompt", prompt, "Plain English: what it accepts, what it returns, the rules in between."),
    h("label", { class: "check" }, auto, " Deploy automatically when validation passes"),
    h("div", { class: "actions" }, submit),
  );
}

function uploadForm(out: HTMLElement): HTMLElement {
  const name = h("input", { id: "up-name", name: "name", required: true, minlength: "2", maxlength: "120", value: EXAMPLE_NAME });
  const code = h("textarea", { id: "up-code", name: "code", rows: "20", class: "code-input", spellcheck: "false", value: EXAMPLE_CODE });
  const submit = h("button", { type: "submit", class: "primary" }, "Upload and deploy");
  return h(
    "form",
    {
      class: "card",
      id: "upload-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          const r = await api<{ agent: { id: string } }>("/v1/agents", {
            body: { name: name.value.trim(), files: { "index.ts": code.value }, entrypoint: "index.ts", autoDeploy: true },
          });
          location.hash = `#/agents/${r.agent.id}`;
        } catch (err) {
          mount(out, errorBox(err));
          submit.disabled = false;
        }
      },
    },
    field("Name", "up-name", name),
    field("index.ts", "up-code", code, "Default-export defineBackend({ routes }) from \"cantrip\". It is bundled, checked in the sandbox and deployed."),
    h("div", { class: "actions" }, submit),
  );
}

export function newBackendPage(page: Page, query: URLSearchParams): void {
  const tab = query.get("tab") === "upload" ? "upload" : "describe";
  const out = h("div", { class: "stack" });
  const tabs = h(
    "nav",
    { class: "tabs", role: "tablist" },
    h("a", { href: "#/new", role: "tab", "aria-selected": String(tab === "describe"), class: tab === "describe" ? "on" : "" }, "Describe it"),
    h("a", { href: "#/new?tab=upload", role: "tab", "aria-selected": String(tab === "upload"), class: tab === "upload" ? "on" : "" }, "Upload code"),
  );
  mount(page.root, h("div", { class: "page-head" }, h("h1", null, "New backend")), tabs, tab === "upload" ? uploadForm(out) : generateForm(page, out), out);
}
