// The QuickJS .wasm, embedded with `with { type: "file" }`: resolves to a path (a /$bunfs path in the executable).
declare module "*.wasm" {
  const path: string;
  export default path;
}
// The prelude's bytecode (sandbox/build-prelude.ts), embedded the same way.
declare module "*.qjsbc" {
  const path: string;
  export default path;
}
// The QuickJS build's record (scripts/build-quickjs.sh), imported as text.
declare module "*/BUILD-INFO" {
  const text: string;
  export default text;
}
