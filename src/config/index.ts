export { loadConfig, ConfigError } from "./load";
export { limitValues } from "./limit-settings";
export { settings, ConfigSchema, ModelId, MODEL_ID_MAX_LENGTH, type Config, type SettingSpec } from "./schema";
