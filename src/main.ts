#!/usr/bin/env bun
/**
 * cantrip's entry point. It runs src/prestart.ts first — for `serve`, the JavaScriptCore
 * options (a re-exec in place when missing) and a sandbox worker started at once — and only
 * then loads the commands (src/command.ts) and the modules they import: ESM links a module's
 * whole static graph before any of it runs, so a static import here would make the re-exec
 * and the worker wait for all of it (issue 15: process start → first 2xx).
 */
import "./prestart";

await import("./command");
