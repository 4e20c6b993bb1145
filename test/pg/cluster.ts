/**
 * A throwaway PostgreSQL server for tests and CI: `initdb` into a fresh temp dir, `pg_ctl
 * start` on a free loopback port with the Unix socket in the same dir (no systemd, nothing
 * under /var/run), and a synchronous stop that removes the dir. `initdb` refuses to run as
 * root, so as root every server command runs as the Debian package's `postgres` user through
 * `runuser` (util-linux). The server is tuned for tests only: trust auth on 127.0.0.1,
 * `fsync=off`. A detached watchdog stops the server and removes the dir within a second of
 * the starting process's exit, however it ends (`bun test` emits no process "exit" event,
 * and a killed run would otherwise leave a postmaster behind). Used by test/pg/shared.ts (one server per test process) and by
 * scripts/pg-throwaway.ts (one server around a command, e.g. in CI).
 */
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running throwaway server. */
export interface PgCluster {
  /** `postgres://cantrip@127.0.0.1:<port>/cantrip`: the superuser on the database `cantrip`. */
  url: string;
  /** The same server and user, another database. */
  urlFor(database: string): string;
  port: number;
  /** The temp dir: `data/` (the cluster), `server.log`, and the Unix socket. */
  dir: string;
  /** Milliseconds spent in initdb, in `pg_ctl start`, and in createdb. */
  timings: { initdbMs: number; startMs: number; createdbMs: number };
  /** Stops the server (immediate shutdown) and removes the dir now; synchronous and idempotent. */
  stop(): void;
}

/** The superuser `initdb` creates; tests connect as it. */
export const PG_USER = "cantrip";

/**
 * The directory holding `initdb`, `pg_ctl` and `postgres`, or null when PostgreSQL is not
 * installed: `CANTRIP_PG_BIN` when set, else the newest `/usr/lib/postgresql/<major>/bin`
 * (the Debian/Ubuntu layout `apt-get install postgresql` gives).
 */
export function findPgBin(env: Record<string, string | undefined> = process.env): string | null {
  const has = (dir: string) => ["initdb", "pg_ctl", "postgres"].every((b) => existsSync(join(dir, b)));
  if (env.CANTRIP_PG_BIN) return has(env.CANTRIP_PG_BIN) ? env.CANTRIP_PG_BIN : null;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  for (const m of majors) if (has(join(root, m, "bin"))) return join(root, m, "bin");
  return null;
}

const isRoot = () => process.getuid?.() === 0;

/** The command line that runs `argv` as the server's user: `postgres` (via runuser) when we are root. */
const asServerUser = (argv: string[]) => (isRoot() ? ["runuser", "-u", "postgres", "--", ...argv] : argv);

/** Runs a server binary as the server's user; throws with its output on failure. */
function run(argv: string[], cwd: string): void {
  const cmd = asServerUser(argv);
  const r = Bun.spawnSync({ cmd, cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  if (r.exitCode !== 0)
    throw new Error(`${argv[0]} failed (exit ${r.exitCode}): ${r.stderr.toString().trim() || r.stdout.toString().trim()}`);
}

/** Single-quotes `s` for sh (pg_ctl passes -o through a shell; the watchdog is a shell script). */
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A port that was free a moment ago (the kernel's pick for port 0). */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/**
 * Starts a throwaway server and creates the database `cantrip`. Throws a clear error when
 * the binaries are missing (the message names scripts/ci-prepare.sh, which installs them)
 * or, as root, when the `postgres` user does not exist. Measured on the shared 2-core box:
 * see bench/pg.ts.
 */
export function startPgCluster(opts: { env?: Record<string, string | undefined> } = {}): PgCluster {
  const bin = findPgBin(opts.env);
  if (!bin)
    throw new Error(
      "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (set CANTRIP_PG_BIN, or run scripts/ci-prepare.sh, which installs the Debian postgresql package)",
    );
  if (isRoot() && Bun.spawnSync({ cmd: ["id", "-u", "postgres"] }).exitCode !== 0)
    throw new Error("running as root needs the `postgres` user (created by the Debian postgresql package) to run initdb");
  const dir = mkdtempSync(join(tmpdir(), "cantrip-pg-"));
  if (isRoot()) {
    const [uid, gid] = ["-u", "-g"].map((f) => Number(Bun.spawnSync({ cmd: ["id", f, "postgres"] }).stdout.toString()));
    chownSync(dir, uid!, gid!);
  }
  const data = join(dir, "data");
  const stopArgv = [join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "-t", "10", "stop"];
  let stopped = false;
  let started = false;
  let watchdog: number | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (watchdog) {
      try {
        process.kill(watchdog);
      } catch {}
    }
    if (started) {
      try {
        run(stopArgv, dir);
      } catch {
        // Already gone (killed with its process group): removing the dir is all that is left.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let t = performance.now();
    run([join(bin, "initdb"), "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"], dir);
    const initdbMs = performance.now() - t;
    let port = 0;
    let startMs = 0;
    // The port is picked before the server binds it; another process can take it in between.
    for (let attempt = 1; ; attempt++) {
      port = freePort();
      t = performance.now();
      try {
        run(
          [
            join(bin, "pg_ctl"), "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "30", "start", "-o",
            `-p ${port} -k ${shellQuote(dir)} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
          ],
          dir,
        );
        started = true;
        startMs = performance.now() - t;
        watchdog = startWatchdog(process.pid, asServerUser(stopArgv), dir);
        break;
      } catch (e) {
        const log = existsSync(join(dir, "server.log")) ? readFileSync(join(dir, "server.log"), "utf8") : "";
        if (attempt >= 3 || !/could not bind|Address already in use/i.test(log)) throw new Error(`${(e as Error).message}\n${log.slice(-2000)}`);
      }
    }
    t = performance.now();
    run([join(bin, "createdb"), "-h", dir, "-p", String(port), "-U", PG_USER, PG_USER], dir);
    const createdbMs = performance.now() - t;
    const urlFor = (database: string) => `postgres://${PG_USER}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    return { url: urlFor(PG_USER), urlFor, port, dir, timings: { initdbMs, startMs, createdbMs }, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

/**
 * A detached shell (its own session, so a Ctrl-C to our process group does not reach it)
 * that waits for `pid` to exit, then runs `stopCmd` and removes `dir`. Returns its pid.
 */
function startWatchdog(pid: number, stopCmd: string[], dir: string): number {
  const script = `while kill -0 ${pid} 2>/dev/null; do sleep 0.5; done; cd /; ${stopCmd.map(shellQuote).join(" ")} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`;
  const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  child.unref();
  return child.pid!;
}
