/** agents schedule <agent> [cron] [--timezone TZ] [--mode one_time] | --clear: an agent's cron schedule. */
import type { Command } from "commander";
import { clientFrom, print, UsageError, type GlobalOptions } from "../context";
import { resolveAgent } from "./agents";

const describe = (s: any) => (s ? `${s.cron} (${s.timezone}, ${s.mode})${s.enabled ? "" : " disabled"}; next run ${s.nextRunAt ?? "never"}` : "no schedule");

export function registerScheduleCommand(agents: Command, g: () => GlobalOptions) {
  agents
    .command("schedule <agent> [cron]")
    .description('Show, set or remove the cron schedule of the agent\'s scheduled handler (e.g. "0 9 * * 1-5").')
    .option("--timezone <tz>", "IANA time zone the expression is read in (default UTC)")
    .option("--mode <mode>", "always_on (default) or one_time")
    .option("--clear", "remove the schedule")
    .action(async (ref: string, cron: string | undefined, o: { timezone?: string; mode?: string; clear?: boolean }) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const path = `/v1/agents/${a.id}/schedule`;
      if (o.clear) {
        if (cron) throw new UsageError("give either a cron expression or --clear, not both");
        const res = await client.request("DELETE", path);
        return print(g(), res, () => (res.data.deleted ? "schedule removed" : "there was no schedule"));
      }
      if (!cron) {
        const res = await client.request("GET", path);
        return print(g(), res, () => describe(res.data));
      }
      const res = await client.request("PUT", path, { cron, ...(o.timezone ? { timezone: o.timezone } : {}), ...(o.mode ? { mode: o.mode } : {}) });
      print(g(), res, () => describe(res.data));
    });
}
