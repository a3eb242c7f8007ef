// pre.js - inside the module's closure, for web/engine.js.

// The wasm memory itself: its buffer is current even after another thread
// grew it (the HEAP* views are refreshed only by this thread's own calls).
Module['salMemory'] = function () { return wasmMemory; };

// The threaded build's pool of workers (PThread exists only there).  Under
// Node they must not keep the process alive once the caller is done: the
// pool is idle whenever no call is running, since calls are synchronous.
Module['salUnrefWorkers'] = function () {
  if (typeof PThread == 'undefined') return;
  PThread.unusedWorkers.concat(PThread.runningWorkers).forEach(function (worker) {
    if (worker.unref) worker.unref();
  });
};
Module['salTerminateWorkers'] = function () {
  if (typeof PThread != 'undefined') PThread.terminateAllThreads();
};
