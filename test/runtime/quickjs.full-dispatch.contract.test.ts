/**
 * The sandbox contract suite against the QuickJS engine with the guest always called through
 * the full path (AgentRuntimeConfig.dispatch "full": the Request built before the backend
 * runs), so the lean calling convention (quickjs.contract.test.ts) and the full path are held
 * to the same expectations (issue 15).
 */
import { quickjsEngine } from "../../src/runtime";
import { runContract } from "./contract";

runContract("quickjs", quickjsEngine, {}, { dispatch: "full" });
