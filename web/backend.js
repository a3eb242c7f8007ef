// backend.js - where a session's engine runs, behind one asynchronous call():
//   DirectBackend: in this thread (simple; the thread is busy while it works);
//   WorkerBackend: in a Web Worker / worker_threads Worker (web/worker.js).
// call(op, args, { onProgress, signal, transfer }) -> Promise of the result.
// Calls run one at a time in order.  An AbortSignal stops the running call:
// through a flag in shared memory when there is a SharedArrayBuffer, else by
// terminating the worker; a fresh worker then starts on the next call and
// reloads the models (restore()) from the sources the session kept.
import { createHost, transferList } from './host.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

export function abortError(message = 'the call was aborted') {
  if (typeof DOMException === 'function') return new DOMException(message, 'AbortError');
  return Object.assign(new Error(message), { name: 'AbortError' });
}

function remoteError({ name, message }) {
  if (name === 'AbortError') return abortError(message);
  const error = new Error(message);
  if (name && name !== 'Error') error.name = name;
  return error;
}

export function sharedMemoryUsable() {
  if (typeof SharedArrayBuffer !== 'function') return false;
  return isNode || globalThis.crossOriginIsolated === true;
}

// Runs calls one after another, in the order they were made.
function serialQueue() {
  let tail = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => {});
    return run;
  };
}

export class DirectBackend {
  static async start(engineOptions) {
    const { createEngine } = await import('./engine.js');
    return new DirectBackend(await createEngine(engineOptions));
  }

  constructor(engine) {
    this.host = createHost(engine);
    this.info = this.host.run('info');
    this.queue = serialQueue();
  }

  call(op, args, { onProgress, signal } = {}) {
    return this.queue(async () => {
      if (signal?.aborted) throw abortError();
      const progress = { report: onProgress, cancelled: () => signal?.aborted === true };
      try {
        return this.host.run(op, args, progress);
      } catch (error) {
        if (error?.name === 'AbortError') throw abortError(error.message);
        throw error;
      }
    });
  }

  dispose() {
    this.host?.dispose();
    this.host = null;
  }
}

async function spawnWorker() {
  if (isNode) {
    const { Worker } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads');
    const worker = new Worker(new URL('./worker.js', import.meta.url));
    return {
      post: (message, transfer) => worker.postMessage(message, transfer),
      listen(onMessage, onFailure) {
        worker.on('message', onMessage);
        worker.on('error', (error) => onFailure(`the worker failed: ${error.message}`));
        worker.on('exit', (code) => onFailure(`the worker stopped (exit code ${code})`));
      },
      hold: (busy) => (busy ? worker.ref() : worker.unref()),
      terminate: () => worker.terminate(),
    };
  }
  // Written out in full so that bundlers (webpack 5, Vite, ...) find and bundle the worker.
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onFailure) {
      worker.addEventListener('message', (event) => onMessage(event.data));
      worker.addEventListener('error', (event) => {
        event.preventDefault?.();
        onFailure(`the worker failed: ${event.message || 'could not load web/worker.js'}`);
      });
      worker.addEventListener('messageerror', () => onFailure('a message from the worker could not be read'));
    },
    hold: () => {},
    terminate: () => worker.terminate(),
  };
}

export class WorkerBackend {
  // restore(backend): reloads the session's models after a restart.
  // shared: stop calls through shared memory (default: when it is usable).
  static async start(engineOptions, { restore, shared = sharedMemoryUsable() } = {}) {
    const backend = new WorkerBackend(engineOptions, restore, shared);
    await backend.boot();
    return backend;
  }

  constructor(engineOptions, restore, shared) {
    this.engineOptions = engineOptions;
    this.restore = restore;
    this.shared = shared;
    this.cancelFlag = this.shared ? new Int32Array(new SharedArrayBuffer(4)) : null;
    this.queue = serialQueue();
    this.nextId = 1;
    this.pending = new Map();
    this.worker = null;
    this.disposed = false;
  }

  // Starts a worker and waits for its engine.
  async boot() {
    const worker = await spawnWorker();
    this.worker = worker;
    const ready = new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onBootFailure = reject;
    });
    worker.listen((message) => this.receive(worker, message), (why) => this.fail(worker, why));
    worker.post({ type: 'init', options: this.engineOptions, cancelFlag: this.cancelFlag }, []);
    try {
      this.info = await ready;
    } finally {
      this.onReady = this.onBootFailure = null;
      if (this.worker === worker) worker.hold(false);
    }
  }

  receive(worker, message) {
    if (worker !== this.worker) return;
    if (message.type === 'ready') return this.onReady?.(message.info);
    if (message.type === 'failed') return this.onBootFailure?.(remoteError(message.error));
    const call = this.pending.get(message.id);
    if (!call) return;
    if (message.type === 'progress') {
      call.onProgress?.(message.fraction);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'result') call.resolve(message.result);
    else call.reject(remoteError(message.error));
  }

  // The worker died (crash, terminate, load failure): every call in flight fails.
  fail(worker, why) {
    if (worker !== this.worker) return;
    this.worker = null;
    this.onBootFailure?.(new Error(why));
    for (const call of this.pending.values()) call.reject(new Error(why));
    this.pending.clear();
  }

  async ensureWorker() {
    if (this.disposed) throw new Error('the session was disposed');
    if (this.worker) return;
    await this.boot();
    await this.restore?.(this);
  }

  call(op, args, options = {}) {
    return this.queue(async () => {
      if (options.signal?.aborted) throw abortError();
      await this.ensureWorker();
      return this.send(op, args, options);
    });
  }

  // Like call(), but for restore() while the queue is held by ensureWorker().
  callNow(op, args, options = {}) {
    return this.send(op, args, options);
  }

  send(op, args, { onProgress, signal, transfer = [] }) {
    const worker = this.worker;
    const id = this.nextId++;
    if (this.cancelFlag) Atomics.store(this.cancelFlag, 0, 0);
    return new Promise((resolve, reject) => {
      const onAbort = () => this.abort(worker, id);
      const settle = (then) => (value) => {
        signal?.removeEventListener('abort', onAbort);
        if (this.worker === worker && this.pending.size === 0) worker.hold(false);
        then(value);
      };
      // A call that finished although it was aborted (no progress report came
      // to notice the flag) still counts as aborted.
      const finish = (result) => (signal?.aborted ? reject(abortError()) : resolve(result));
      this.pending.set(id, { resolve: settle(finish), reject: settle(reject), onProgress });
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.hold(true);
      worker.post({ type: 'call', id, op, args }, transfer);
    });
  }

  abort(worker, id) {
    if (this.cancelFlag) {
      Atomics.store(this.cancelFlag, 0, 1);
      return;
    }
    // No shared memory: the only way to stop the engine is to stop its thread.
    const call = this.pending.get(id);
    if (worker !== this.worker || !call) return;
    this.pending.delete(id);
    this.worker = null;
    worker.terminate();
    call.reject(abortError());
  }

  dispose() {
    this.disposed = true;
    const worker = this.worker;
    this.fail(worker, 'the session was disposed');
    worker?.terminate();
  }
}

export { transferList };
