/**
 * A tiny TypeScript/JSON highlighter: one regular expression splits source into comments,
 * strings, numbers, keywords, type names and calls. It is deliberately approximate (no
 * parser, no regex literals) — enough to make read-only source pleasant, with nothing
 * fetched from a CDN. Output is built from text nodes, so the code is never parsed as HTML.
 */
const KEYWORDS =
  "abstract|as|async|await|break|case|catch|class|const|continue|default|delete|do|else|enum|export|extends|false|finally|for|from|function|if|implements|import|in|instanceof|interface|let|new|null|of|private|protected|public|readonly|return|static|super|switch|this|throw|true|try|type|typeof|undefined|var|void|while|yield";

const TOKEN = new RegExp(
  [
    String.raw`(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))`,
    String.raw`("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|\x60(?:[^\x60\\]|\\[\s\S])*\x60?)`,
    String.raw`(\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b)`,
    String.raw`\b(${KEYWORDS})\b`,
    String.raw`\b([A-Z][A-Za-z0-9_]*)\b`,
    String.raw`([A-Za-z_$][\w$]*)(?=\s*\()`,
  ].join("|"),
  "g",
);
const CLASSES = ["tok-c", "tok-s", "tok-n", "tok-k", "tok-t", "tok-f"] as const;

export interface Token {
  text: string;
  cls: (typeof CLASSES)[number] | null;
}

export function tokenize(code: string): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const m of code.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) out.push({ text: code.slice(last, at), cls: null });
    const group = m.slice(1).findIndex((g) => g !== undefined);
    out.push({ text: m[0], cls: CLASSES[group] ?? null });
    last = at + m[0].length;
  }
  if (last < code.length) out.push({ text: code.slice(last), cls: null });
  return out;
}

export function highlight(code: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  for (const t of tokenize(code)) {
    if (!t.cls) frag.appendChild(document.createTextNode(t.text));
    else {
      const span = document.createElement("span");
      span.className = t.cls;
      span.textContent = t.text;
      frag.appendChild(span);
    }
  }
  return frag;
}
