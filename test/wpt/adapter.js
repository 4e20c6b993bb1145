/*
 * The WPT adapter, plain script evaluated (indirect eval) in the global scope of the runner:
 * inside the cantrip guest (a fresh interpreter per test file) and in a Bun Worker (the
 * reference). It defines __wptRun(files, testPath, scripts, timeoutMs), which evaluates
 * upstream testharness.js, the test's META scripts and the test file as classic scripts,
 * serves the test's own resource files (e.g. url/resources/urltestdata.json) to `fetch`
 * from the given map, and resolves with every subtest's [name, status, message] once the
 * harness completes or timeoutMs passes (subtests still running then count as TIMEOUT).
 * Status numbers are testharness's: 0 PASS, 1 FAIL, 2 TIMEOUT, 3 NOTRUN, 4 PRECONDITION_FAILED.
 */
globalThis.__wptRun = function (files, testPath, scripts, timeoutMs) {
  var g = globalThis;
  if (typeof g.self === "undefined") g.self = g;
  // What WPT's generated .any.js wrappers define for a worker-like global.
  if (typeof g.GLOBAL === "undefined") g.GLOBAL = { isWindow: function () { return false; }, isWorker: function () { return true; }, isShadowRealm: function () { return false; } };
  var base = "http://web-platform.test/" + testPath;
  if (typeof g.location === "undefined") g.location = { href: base, search: "", hash: "", origin: "http://web-platform.test", protocol: "http:", host: "web-platform.test", hostname: "web-platform.test", pathname: "/" + testPath, port: "", toString: function () { return base; } };
  var realFetch = g.fetch;
  var dir = testPath.replace(/[^/]*$/, "");
  g.fetch = function (input, init) {
    var u = typeof input === "string" ? input : input && input.url !== undefined ? input.url : String(input);
    var path = null;
    try {
      var parsed = new URL(u, base);
      if (parsed.host === "web-platform.test") path = parsed.pathname.slice(1);
    } catch (e) {
      path = null;
    }
    if (path === null && !/^[a-z]+:/i.test(u)) path = (dir + u).replace(/[^/]+\/\.\.\//g, "");
    if (path !== null && Object.prototype.hasOwnProperty.call(files, path)) {
      return Promise.resolve(new Response(files[path], { headers: { "content-type": /\.json$/.test(path) ? "application/json" : "text/plain" } }));
    }
    return realFetch.call(g, input, init);
  };
  var results = [];
  var harnessError = null;
  (0, eval)(files["resources/testharness.js"]);
  var finished;
  var over = new Promise(function (resolve) { finished = resolve; });
  var text = function (m) { return m === null || m === undefined ? null : String(m).slice(0, 300); };
  g.add_result_callback(function (t) { results.push([String(t.name), t.status, text(t.message)]); });
  g.add_completion_callback(function (tests, status) {
    var seen = {};
    for (var i = 0; i < results.length; i++) seen[results[i][0]] = true;
    for (var j = 0; j < tests.length; j++) if (!seen[tests[j].name]) results.push([String(tests[j].name), tests[j].status, text(tests[j].message)]);
    finished({ status: status.status, message: text(status.message) });
  });
  g.setup({ explicit_done: true, explicit_timeout: true });
  // One classic-script evaluation for META scripts + test, so their top-level let/const
  // share one scope as they would in a page (each indirect eval has its own).
  try {
    (0, eval)(scripts.map(function (p) { return files[p]; }).join("\n;\n"));
  } catch (e) {
    harnessError = (e && e.name ? e.name + ": " + e.message : String(e));
  }
  g.done();
  var timer;
  var late = new Promise(function (resolve) { timer = setTimeout(function () { resolve({ status: 2, message: "adapter timeout after " + timeoutMs + " ms" }); }, timeoutMs); });
  return Promise.race([over, late]).then(function (end) {
    clearTimeout(timer);
    return { results: results, end: end, harnessError: harnessError };
  });
};
