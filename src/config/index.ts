export { loadConfig, ConfigError } from "./load";
export { limitValues } from "./limit-settings";
export { settings, ConfigSchema, type Config, type SettingSpec } from "./schema";
