export { Pruner, type PruneResult, type RetentionPolicy } from "./pruner";
