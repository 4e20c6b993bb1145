/**
 * The V8 sidecar: a Node ≥ 24 process (run with --no-node-snapshot) that holds isolated-vm
 * isolates for the Bun host. It speaks length-prefixed frames on stdin/stdout (see
 * frames.mjs); the host sends init (the guest prelude), load, fetch, scheduled, dispose
 * and host-result; the sidecar replies and forwards every host operation (kv, egress)
 * back, so policy and storage stay in the Bun process. `--probe` prints the versions and
 * exits: the host's start-up check runs exactly what the sidecar needs.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { encodeFrame, frameReader } from "./frames.mjs";
import { Instance, memoryMb } from "./instance.mjs";

const require = createRequire(import.meta.url);
const MIN_NODE = 24;
const SPARES = 1;
const TICK_MS = 5;

function loadIvm() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < MIN_NODE) throw new Error(`Node ${process.versions.node} is too old: the V8 sandbox needs Node >= ${MIN_NODE}`);
  if (!process.execArgv.includes("--no-node-snapshot")) throw new Error("the V8 sidecar must run with --no-node-snapshot");
  try {
    return require("isolated-vm");
  } catch (e) {
    throw new Error(`isolated-vm is not installed or does not load (${String(e.message).split("\n")[0]}); install it with: npm install --prefix .tools/v8 isolated-vm@7.0.1, and set NODE_PATH`);
  }
}

if (process.argv.includes("--probe")) {
  try {
    const ivm = loadIvm();
    const iso = new ivm.Isolate({ memoryLimit: 8 });
    const r = iso.createContextSync().evalSync("6 * 7");
    iso.dispose();
    process.stdout.write(JSON.stringify({ ok: r === 42, node: process.versions.node, v8: process.versions.v8 }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, node: process.versions.node, error: e.message }) + "\n");
  }
  process.exit(0);
}

const send = (msg, bytes) => process.stdout.write(encodeFrame(msg, bytes));
const instances = new Map();
const hostPending = new Map();
const spares = [];
let shared = null;
let nextHid = 1;
let spareMb = 0;

const hooks = {
  send,
  host(inst, call, guestHid, op, args, bytes) {
    const hid = nextHid++;
    hostPending.set(hid, { inst, call, guestHid });
    send({ t: "host", hid, inst: inst.id, call: call.id, op, args }, bytes);
  },
  dropped(inst) {
    if (instances.get(inst.id) === inst) instances.delete(inst.id);
  },
};

function take(memoryBytes) {
  const mb = memoryMb(memoryBytes);
  if (mb !== spareMb) {
    spareMb = mb;
    for (const s of spares.splice(0)) s.drop();
  }
  const inst = spares.pop() ?? new Instance(shared, mb, hooks);
  setTimeout(refill, 5);
  return inst;
}

function refill() {
  while (shared && spareMb && spares.length < SPARES) spares.push(new Instance(shared, spareMb, hooks));
}

function missing(id) {
  send({ t: "failed", id, reason: "crashed", message: "The sandbox instance is gone.", dropped: true, logs: [] });
}

function onMessage(m, bytes) {
  switch (m.t) {
    case "init": {
      try {
        const ivm = loadIvm();
        shared = { ivm, prelude: m.prelude, sources: m.sources ?? {}, bootstrap: readFileSync(new URL("./bootstrap.js", import.meta.url), "utf8"), preludeCache: undefined };
        spareMb = memoryMb(m.memoryBytes);
        refill();
        send({ t: "ready", node: process.versions.node });
      } catch (e) {
        send({ t: "init-failed", message: e.message });
      }
      return;
    }
    case "load": {
      let inst;
      try {
        inst = take(m.limits.memoryBytes);
      } catch (e) {
        return send({ t: "failed", id: m.id, reason: "crashed", message: `The sandbox could not start an isolate: ${e.message}`, dropped: true, logs: [] });
      }
      inst.id = m.inst;
      instances.set(m.inst, inst);
      inst.load(m.id, m.code, m.limits, m.config);
      return;
    }
    case "fetch": {
      const inst = instances.get(m.inst);
      return inst ? inst.fetch(m.id, m.req, bytes, m.stream === true) : missing(m.id);
    }
    case "pull": {
      const inst = instances.get(m.inst);
      return inst ? inst.pull(m.id, m.call) : missing(m.id);
    }
    case "cancel": {
      const inst = instances.get(m.inst);
      return inst ? inst.cancel(m.id, m.call, String(m.reason)) : send({ t: "chunk", id: m.id, kind: "end", dropped: true, memoryBytes: 0 });
    }
    case "scheduled": {
      const inst = instances.get(m.inst);
      return inst ? inst.scheduled(m.id) : missing(m.id);
    }
    case "dispose":
      return instances.get(m.inst)?.drop();
    case "host-result": {
      const p = hostPending.get(m.hid);
      hostPending.delete(m.hid);
      if (p) p.inst.settle(p.call, p.guestHid, m.ok, m.ok ? m.json : m.error, bytes);
      return;
    }
  }
}

process.stdin.on("data", frameReader(onMessage));
process.stdin.on("end", () => process.exit(0));
setInterval(() => {
  for (const inst of instances.values()) inst.checkCpu();
}, TICK_MS);
