/** Command-line options for the benchmarks: `--name value` numbers and bare `--flag`s. */
const argv = process.argv.slice(2);

export function numberOpt(name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const n = Number(argv[i + 1]);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number`);
  return n;
}

export function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}

export function stringOpt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
  return v;
}

/** Every value of a repeatable `--name value` option, in order (none: empty). */
export function stringOpts(name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== `--${name}`) continue;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    out.push(v);
  }
  return out;
}
