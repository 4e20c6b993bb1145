/** The highlighter is lossless and classifies the common TypeScript token kinds. */
import { expect, test } from "bun:test";
import { tokenize } from "./highlight";

const src = `// greet\nimport { defineBackend } from "cantrip";\nconst n = 42; /* x */ const s = 'a\\'b' + \`t\${n}\`;\nexport default defineBackend({ routes: {} });\n`;

test("joins back to the exact input", () => {
  expect(tokenize(src).map((t) => t.text).join("")).toBe(src);
});

test("classifies comments, strings, numbers, keywords and calls", () => {
  const kinds = new Map(tokenize(src).filter((t) => t.cls).map((t) => [t.text, t.cls]));
  expect(kinds.get("// greet")).toBe("tok-c");
  expect(kinds.get("/* x */")).toBe("tok-c");
  expect(kinds.get('"cantrip"')).toBe("tok-s");
  expect(kinds.get("'a\\'b'")).toBe("tok-s");
  expect(kinds.get("42")).toBe("tok-n");
  expect(kinds.get("import")).toBe("tok-k");
  expect(kinds.get("defineBackend")).toBe("tok-f");
});

test("an unterminated string or comment does not hang or drop text", () => {
  for (const s of ['const a = "open', "/* never closed", "`tpl"]) expect(tokenize(s).map((t) => t.text).join("")).toBe(s);
});
