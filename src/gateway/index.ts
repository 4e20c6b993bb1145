export { Gateway, type AppCall, type GatewayOptions } from "./gateway";
export { LiveCache, type LiveEntry } from "./live-cache";
export { RateLimiter, clientBucket } from "./rate-limit";
export { InvocationLog, isPermanentWriteError } from "./invocation-log";
export { APP_SANDBOX_CSP, appResponseHeaders, isTenantResponse, type AppOrigin } from "./app-headers";
