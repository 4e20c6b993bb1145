/** The small working backend that prefills the "Upload code" form (same SDK as examples/). */
export const EXAMPLE_NAME = "Greeter";

export const EXAMPLE_CODE = `import { defineBackend, t } from "cantrip";

// POST / with {"name": "Ada"} → {"greeting": "Hello, Ada!"}
export default defineBackend({
  routes: {
    "POST /": {
      summary: "Greet someone",
      input: t.Object({ name: t.Optional(t.String({ maxLength: 80 })) }),
      handle: async (input) => ({
        greeting: \`Hello, \${input.name ?? "world"}!\`,
        at: new Date().toISOString(),
      }),
    },
    "GET /health": { handle: async () => ({ ok: true }) },
  },
});
`;
