/**
 * Sign-in: the user pastes a platform token (ctp_pt_...); `POST /v1/session` checks it and
 * sets an HttpOnly session cookie. The token itself is not kept by the page.
 */
import { session } from "../api";
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
          await session.signIn(token);
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
    h("p", { class: "hint" }, "The admin token is printed once at first start and saved in ", h("code", null, "<data-dir>/admin-token"), ". It is exchanged for a session cookie that no page script can read; the token is not stored."),
    msg,
    button,
  );
  mount(root, h("div", { class: "center" }, form));
  input.focus();
}
