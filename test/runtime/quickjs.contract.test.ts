import { quickjsEngine } from "../../src/runtime";
import { runContract } from "./contract";

runContract("quickjs", quickjsEngine);
