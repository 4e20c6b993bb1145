/** The Web Streams implementation as source text (a prelude part, see sandbox/build-prelude.ts). */
declare module "cantrip:streams-source" {
  /** The text, or (V8) a function that fetches it from the host on first use. */
  const source: string | (() => string);
  export default source;
}

/** The bundled libraries (core-js-pure's URL), see sandbox/build-prelude.ts. */
declare module "cantrip:libs-source" {
  /** QuickJS: the classes, evaluated by their own prelude part; V8: a function that fetches their source text from the host. */
  const source: { URL: unknown; URLSearchParams: unknown } | (() => string);
  export default source;
}
