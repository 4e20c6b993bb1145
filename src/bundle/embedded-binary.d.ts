// esbuild's native binary, embedded with `with { type: "file" }`: the import is its path
// (node_modules when run from source, "/$bunfs/..." inside the compiled executable).
declare module "@esbuild/linux-x64/bin/esbuild" {
  const path: string;
  export default path;
}
