// Files embedded with `import x from "..." with { type: "file" }` resolve to a path string.
declare module "*.js" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.png" {
  const path: string;
  export default path;
}
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.md" {
  const text: string;
  export default text;
}
