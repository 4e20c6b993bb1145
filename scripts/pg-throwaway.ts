/**
 * Runs a command against a throwaway PostgreSQL server (test/pg/cluster.ts): starts one in a
 * temp dir, runs the command with `CANTRIP_TEST_DATABASE_URL` (and `PG_URL`) set to it, then
 * stops the server, removes the dir, and exits with the command's status. Without a command
 * it prints the URL and keeps the server until Ctrl-C / SIGTERM. The server also stops when
 * this script is killed outright (the cluster's watchdog).
 *
 *   bun scripts/pg-throwaway.ts -- bun test test/db          # tests on a shared server
 *   bun scripts/pg-throwaway.ts                              # a server to poke at with psql
 */
import { startPgCluster } from "../test/pg/cluster";

const dashes = process.argv.indexOf("--");
const command = dashes >= 0 ? process.argv.slice(dashes + 1) : process.argv.slice(2);

let cluster;
try {
  cluster = startPgCluster();
} catch (e) {
  console.error(`pg-throwaway: ${(e as Error).message}`);
  process.exit(1);
}
const t = cluster.timings;
console.error(
  `pg-throwaway: PostgreSQL up at ${cluster.url} in ${Math.round(t.initdbMs + t.startMs + t.createdbMs)} ms (initdb ${Math.round(t.initdbMs)}, start ${Math.round(t.startMs)}, createdb ${Math.round(t.createdbMs)})`,
);

if (command.length === 0) {
  console.log(`CANTRIP_TEST_DATABASE_URL=${cluster.url}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  cluster.stop();
  process.exit(0);
}

const child = Bun.spawn(command, {
  stdio: ["inherit", "inherit", "inherit"],
  env: { ...process.env, CANTRIP_TEST_DATABASE_URL: cluster.url, PG_URL: cluster.url },
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
const code = await child.exited;
cluster.stop();
process.exit(code);
