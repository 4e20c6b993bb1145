// prom-client 15's lib/ files, which have no types of their own (its types describe only its
// index). src/metrics imports them one by one: the index also loads the Pushgateway (node:http,
// node:https), the cluster aggregator and the default metrics, ~80% of the package's loading.

// The label-set key its metrics use in `hashMap`.
declare module "prom-client/lib/util" {
  export function hashObject(labels: Record<string, string>, sortedNames?: string[]): string;
}
declare module "prom-client/lib/registry" {
  import { Registry } from "prom-client";
  export default Registry;
}
declare module "prom-client/lib/counter" {
  import { Counter } from "prom-client";
  export default Counter;
}
declare module "prom-client/lib/gauge" {
  import { Gauge } from "prom-client";
  export default Gauge;
}
declare module "prom-client/lib/histogram" {
  import { Histogram } from "prom-client";
  export default Histogram;
}
declare module "prom-client/lib/defaultMetrics" {
  import { collectDefaultMetrics } from "prom-client";
  const collect: typeof collectDefaultMetrics;
  export default collect;
}
