/** The Web Streams implementation as source text (a prelude part, see sandbox/build-prelude.ts). */
declare module "cantrip:streams-source" {
  /** A function that fetches the text from the host on first use (V8's sidecar, QuickJS's `__cantripHost.source`). */
  const source: string | (() => string);
  export default source;
}

/** The bundled libraries (core-js-pure's URL), see sandbox/build-prelude.ts. */
declare module "cantrip:libs-source" {
  /**
   * The classes, when a prelude part evaluated them up front (QuickJS's eager parts); else a
   * function, called on first use, that returns their source text (V8; QuickJS without
   * bytecode) or the classes (QuickJS: the host ran the library's part from bytecode).
   */
  const source: { URL: unknown; URLSearchParams: unknown } | (() => string | { URL: unknown; URLSearchParams: unknown });
  export default source;
}
