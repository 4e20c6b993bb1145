export {
  PLATFORM_TOKEN_PREFIX,
  PlatformTokenVerifier,
  bootstrapWorkspace,
  bearer,
  createPlatformToken,
  countWorkspaces,
  createWorkspace,
  findWorkspace,
  firstWorkspaceId,
  listWorkspaces,
  type CreatedToken,
  type Principal,
} from "./platform-tokens";
export { TokenSigner, type TokenPurpose } from "./signed-tokens";
export { loadMasterKey, writeSecretFile } from "./key-file";
export { AgentKeys, AGENT_KEY_PREFIX, apiKeyView, type ApiKeyRow } from "./agent-keys";
export { DashboardSessions, SESSION_COOKIE_PATHS, type OpenedSession, type SessionOptions } from "./dashboard-sessions";
export { SESSION_COOKIE, PLATFORM_COOKIE_NAMES } from "./cookie-names";
