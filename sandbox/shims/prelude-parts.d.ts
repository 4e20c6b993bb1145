/** The Web Streams implementation as source text (a prelude part, see sandbox/build-prelude.ts). */
declare module "cantrip:streams-source" {
  const source: string;
  export default source;
}

/** The bundled libraries (core-js's URL) as source text: evaluating it gives { URL, URLSearchParams } (sandbox/build-prelude.ts). */
declare module "cantrip:libs-source" {
  const source: string;
  export default source;
}
