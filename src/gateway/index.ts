export { Gateway, type AppCall, type GatewayOptions } from "./gateway";
export { LiveCache, type LiveEntry } from "./live-cache";
export { RateLimiter, clientBucket } from "./rate-limit";
export { InvocationLog, isPermanentWriteError } from "./invocation-log";
