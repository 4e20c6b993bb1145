/** The Web Streams implementation as source text (a prelude part, see sandbox/build-prelude.ts). */
declare module "cantrip:streams-source" {
  const source: string;
  export default source;
}

/** The bundled libraries' part of the prelude (built by sandbox/build-prelude.ts). */
declare module "cantrip:libs" {
  export const URL: unknown;
  export const URLSearchParams: unknown;
}
