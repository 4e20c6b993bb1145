export { loadConfig, ConfigError } from "./load";
export { settings, ConfigSchema, type Config, type SettingSpec } from "./schema";
