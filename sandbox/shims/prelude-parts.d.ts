/** The Web Streams implementation as source text (a prelude part, see sandbox/build-prelude.ts). */
declare module "cantrip:streams-source" {
  /** The text, or (V8) a function that fetches it from the host on first use. */
  const source: string | (() => string);
  export default source;
}

/** The bundled libraries (core-js-pure's URL) as source text (a prelude part, see sandbox/build-prelude.ts). */
declare module "cantrip:libs-source" {
  /** The text, or (V8) a function that fetches it from the host on first use. */
  const source: string | (() => string);
  export default source;
}
