/** The baseline: a plain Bun.serve JSON handler doing the same work as the trivial backend. */
const port = Number(process.argv[2]);
Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(req) {
    const input = (await req.json().catch(() => ({}))) as { n?: number };
    return Response.json({ data: { status: 200, ok: true, latencyMs: 0, response: { ok: true, n: input.n ?? 0 } } });
  },
});
