// Types of the emscripten glue scripts/build-quickjs.sh writes (as quickjs-emscripten's own build declares it).
import type { EmscriptenModuleLoader, QuickJSEmscriptenModule } from "quickjs-emscripten-core";
declare const ModuleLoader: EmscriptenModuleLoader<QuickJSEmscriptenModule>;
export default ModuleLoader;
