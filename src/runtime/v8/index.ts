/**
 * The V8 engine's only entry point: the engine factory and the availability probe (used
 * at start-up when v8 is the server default, and when an agent asks for v8).
 */
export { v8Engine } from "./engine";
export { probeV8, type ProbeOptions, type ProbeResult } from "./probe";
