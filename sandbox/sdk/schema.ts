/**
 * `t`: a small TypeBox-compatible schema builder. Each builder returns plain JSON Schema
 * (so describe() can hand it to the host for OpenAPI as is); optionality is a symbol key
 * that JSON.stringify drops. Evaluating full TypeBox in QuickJS costs far more than this.
 */
export const OPTIONAL = Symbol.for("cantrip.optional");

export type Schema = Record<string, any> & { [OPTIONAL]?: true };
type Opts = Record<string, unknown>;

const mk = (base: Schema, opts?: Opts): Schema => ({ ...opts, ...base });

export const t = {
  String: (o?: Opts) => mk({ type: "string" }, o),
  Number: (o?: Opts) => mk({ type: "number" }, o),
  Integer: (o?: Opts) => mk({ type: "integer" }, o),
  Boolean: (o?: Opts) => mk({ type: "boolean" }, o),
  Null: (o?: Opts) => mk({ type: "null" }, o),
  Any: (o?: Opts) => mk({}, o),
  Unknown: (o?: Opts) => mk({}, o),
  Literal: (value: string | number | boolean, o?: Opts) => mk({ const: value, type: typeof value === "number" ? "number" : typeof value }, o),
  Array: (items: Schema, o?: Opts) => mk({ type: "array", items }, o),
  Object: (properties: Record<string, Schema>, o?: Opts) => {
    const required = Object.keys(properties).filter((k) => !properties[k]![OPTIONAL]);
    return mk({ type: "object", properties, ...(required.length ? { required } : {}) }, o);
  },
  Record: (_key: Schema, value: Schema, o?: Opts) => mk({ type: "object", additionalProperties: value }, o),
  Union: (anyOf: Schema[], o?: Opts) => mk({ anyOf }, o),
  Enum: (values: readonly (string | number)[] | Record<string, string | number>, o?: Opts) => {
    const list = Array.isArray(values) ? [...values] : Object.values(values);
    return mk({ enum: list }, o);
  },
  Nullable: (s: Schema, o?: Opts) => mk({ anyOf: [s, { type: "null" }] }, o),
  Optional: (s: Schema): Schema => ({ ...s, [OPTIONAL]: true }),
};
