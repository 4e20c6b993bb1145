/**
 * build "<what you want>": the conversation flow in the terminal. Polls the conversation,
 * shows the builder's questions, reads one answer message, asks for approval, and ends
 * on deployed (printing the preview URL and service token) or failed.
 */
import type { Command } from "commander";
import { ApiError } from "../client";
import { clientFrom, print, type GlobalOptions } from "../context";

export function registerBuildCommand(program: Command, g: () => GlobalOptions) {
  program
    .command("build <prompt>")
    .description("Build an app through a conversation: answer the builder's questions, approve, deploy.")
    .option("--name <name>", "app name (derived from the prompt when omitted)")
    .option("--yes", "approve without asking (skip_approval)")
    .option("--skip-review", "deploy without pre-deploy review and post-deploy QA")
    .action(async (prompt: string, o: { name?: string; yes?: boolean; skipReview?: boolean }) => {
      const client = clientFrom(g());
      // Loaded here: node:readline/promises costs every start of the executable ~2–3 ms otherwise.
      const { createInterface } = await import("node:readline/promises");
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        let conv = (await client.request("POST", "/api/v1/builder-agents", { prompt, ...(o.name ? { name: o.name } : {}), skip_approval: !!o.yes, skip_review: !!o.skipReview })).data;
        process.stderr.write(`conversation ${conv.uuid}\n`);
        let shown = "";
        for (;;) {
          conv = (await client.request("GET", `/api/v1/builder-agents/${conv.uuid}`)).data;
          if (conv.status === "gathering" && shown !== `g${conv.updated_at}`) {
            shown = `g${conv.updated_at}`;
            process.stderr.write(`\n${conv.message ?? "The builder needs a few answers:"}\n`);
            for (const q of conv.questions ?? []) process.stderr.write(`  • ${q}\n`);
            const answer = await rl.question("\nyour answer> ");
            await client.request("POST", `/api/v1/builder-agents/${conv.uuid}/answers`, { message: answer });
            continue;
          }
          if (conv.status === "awaiting_approval" && shown !== `a${conv.updated_at}`) {
            shown = `a${conv.updated_at}`;
            process.stderr.write(`\n${conv.message ?? "Ready to build."}\n`);
            const yes = (await rl.question("approve and build? [Y/n] ")).trim().toLowerCase();
            if (yes === "n" || yes === "no") {
              process.stderr.write("not approved; the conversation stays open.\n");
              return print(g(), { data: conv }, () => conv.uuid);
            }
            await client.request("POST", `/api/v1/builder-agents/${conv.uuid}/approve`);
            continue;
          }
          if (conv.status === "deployed") {
            return print(g(), { data: conv }, () => `✔ deployed ${conv.name}\npreview: ${conv.builder?.preview_url}\nservice token: ${conv.builder?.service_token}`);
          }
          if (conv.status === "failed") throw new ApiError(422, conv.failure?.code ?? "build_failed", conv.message ?? "the build failed");
          await Bun.sleep(500);
        }
      } finally {
        rl.close();
      }
    });
}
