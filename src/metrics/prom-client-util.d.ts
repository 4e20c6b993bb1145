// prom-client 15's lib/util.js (no types of its own): the label-set key its metrics use in `hashMap`.
declare module "prom-client/lib/util" {
  export function hashObject(labels: Record<string, string>, sortedNames?: string[]): string;
}
