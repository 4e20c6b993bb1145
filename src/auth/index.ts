export {
  PLATFORM_TOKEN_PREFIX,
  PlatformTokenVerifier,
  bootstrapWorkspace,
  bearer,
  createPlatformToken,
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
