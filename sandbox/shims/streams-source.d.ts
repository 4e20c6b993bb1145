/** The Web Streams implementation as source text (built by sandbox/build-prelude.ts). */
declare module "cantrip:streams-source" {
  const source: string;
  export default source;
}
