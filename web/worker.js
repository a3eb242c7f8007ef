// worker.js - the engine in a Web Worker (browsers) or a worker_threads
// Worker (Node), so that long explanations never block the page.
//
// Protocol (one request at a time; the session queues the rest):
//   in:  { type: 'init', options: { threads, variant, wasmBinary }, cancelFlag: Int32Array | null }
//        { type: 'call', id, op, args }            op: a request of web/host.js
//   out: { type: 'ready', info: { variant, threads } } | { type: 'failed', error }
//        { type: 'progress', id, fraction }
//        { type: 'result', id, result } | { type: 'error', id, error: { name, message } }
// cancelFlag lives in a SharedArrayBuffer: the session stores 1 in it to stop
// the running call, which the engine notices at its next progress report.
// Without shared memory the session terminates the worker instead.
import { createEngine } from './engine.js';
import { createHost, transferList } from './host.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const port = isNode
  ? (await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads')).parentPort
  : globalThis;

let host = null;
let cancelFlag = null;

function post(message, transfer = []) {
  port.postMessage(message, transfer);
}

function errorMessage(error) {
  return { name: error?.name ?? 'Error', message: error?.message ?? String(error) };
}

async function init({ options, cancelFlag: flag }) {
  try {
    const engine = await createEngine(options);
    host = createHost(engine);
    cancelFlag = flag;
    post({ type: 'ready', info: host.run('info') });
  } catch (error) {
    post({ type: 'failed', error: errorMessage(error) });
  }
}

function call({ id, op, args }) {
  const progress = {
    report: (fraction) => post({ type: 'progress', id, fraction }),
    cancelled: () => cancelFlag !== null && Atomics.load(cancelFlag, 0) !== 0,
  };
  try {
    if (!host) throw new Error('the worker has no engine (init failed or was not sent)');
    const result = host.run(op, args, progress);
    post({ type: 'result', id, result }, transferList(result));
  } catch (error) {
    post({ type: 'error', id, error: errorMessage(error) });
  }
}

function onMessage(message) {
  if (message?.type === 'init') init(message);
  else if (message?.type === 'call') call(message);
}

if (isNode) port.on('message', onMessage);
else port.addEventListener('message', (event) => onMessage(event.data));
