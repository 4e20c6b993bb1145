// The QuickJS .wasm, embedded with `with { type: "file" }`: resolves to a path (a /$bunfs path in the executable).
declare module "@jitl/quickjs-wasmfile-release-sync/wasm" {
  const path: string;
  export default path;
}
