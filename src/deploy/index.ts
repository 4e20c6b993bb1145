export { Deployer, deploymentView, versionIdOf, type DeploymentRow, type EnqueueDeploy } from "./deployer";
export { listVersions, getVersion, latestVersion, versionView, type VersionRow } from "./versions";
export { runtimeConfigFor, bundleRef } from "./runtime-config";
