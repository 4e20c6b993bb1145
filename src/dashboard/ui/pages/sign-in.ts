/**
 * Sign-in: the user pastes a platform token (ctp_pt_...); it is checked against the API
 * with one cheap call before it is stored in localStorage.
 */
import { call, errorOf, session } from "../api";
import { h, mount } from "../dom";

export function signInPage(root: HTMLElement, notice: string | null, done: () => void): void {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", placeholder: "ctp_pt_…", required: true, spellcheck: "false" });
  const msg = h("div", { class: "form-msg" }, notice ? h("p", { class: "notice" }, notice) : null);
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card sign-in",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const token = input.value.trim();
        button.disabled = true;
        try {
          const r = await call("/v1/agents?limit=1", { bearer: token });
          if (r.status !== 200) throw errorOf(r.status, r.body);
          session.signIn(token);
          done();
        } catch (err) {
          const code = (err as { code?: string }).code;
          mount(msg, h("p", { class: "error", role: "alert" }, code === "unauthorized" ? "That token was not accepted." : String((err as Error).message)));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", null, h("span", { class: "logo" }, "✶"), " cantrip"),
    h("p", { class: "muted" }, "Turn plain-English requirements into sandboxed backend APIs."),
    h("label", { for: "token" }, "Platform token"),
    input,
    h("p", { class: "hint" }, "The admin token is printed once at first start and saved in ", h("code", null, "<data-dir>/admin-token"), ". It is kept in this browser's local storage."),
    msg,
    button,
  );
  mount(root, h("div", { class: "center" }, form));
  input.focus();
}
