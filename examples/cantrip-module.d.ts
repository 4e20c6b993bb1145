// Lets the examples type-check against the SDK's declarations (the bundler leaves "cantrip" external).
declare module "cantrip" {
  const sdk: typeof import("../sandbox/sdk/cantrip");
  export = sdk;
}
