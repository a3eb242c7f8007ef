// page.mjs - the benchmark page's side: window.runBench(cfg) runs one
// configuration (see configuration.mjs) on the model and photo chromium.mjs
// serves under /bench-model/ and /bench-photo, and reports each figure
// through console.log("BENCH_PARTIAL ...").

import { createEngine } from '/web/engine.js';
import { runConfiguration } from './configuration.mjs';

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.arrayBuffer();
}

async function fetchModel() {
  const json = new TextDecoder().decode(await fetchBytes('/bench-model/model.json'));
  const parsed = JSON.parse(json);
  const names = parsed.weightsManifest.flatMap((group) => group.paths);
  const shards = await Promise.all(names.map(async (name) => ({ name, data: await fetchBytes(`/bench-model/${name}`) })));
  return { json, parsed, shards };
}

/* tfjs-wasm caps its threads at half of navigator.hardwareConcurrency (it
 * takes every core to have two hyperthreads), so on a machine without SMT
 * it would run one thread where two were asked for.  The page reports
 * enough cores for the threads asked; the record still gives the count
 * tfjs ended up with (getThreadsCount). */
function reportCoresFor(threads) {
  if (navigator.hardwareConcurrency >= 2 * threads) return;
  Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 2 * threads, configurable: true });
}

window.runBench = async (cfg) => {
  const { tf } = window;
  if (cfg.kind === 'tfjs' && cfg.backend === 'wasm') {
    tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    tf.wasm.setThreadsCount(cfg.threads);
    reportCoresFor(cfg.threads);
  }
  const env = {
    createEngine, tf, tfl: tf, model: await fetchModel(), photoBytes: new Uint8Array(await fetchBytes('/bench-photo')),
    wasmThreads: () => tf.wasm.getThreadsCount(),
    log: (text) => console.log(`BENCH_LOG ${text}`),
    onFigure: (record) => console.log(`BENCH_PARTIAL ${JSON.stringify(record)}`),
  };
  const started = performance.now();
  const record = await runConfiguration(env, cfg);
  record.runtime = navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? 'Chromium';
  record.crossOriginIsolated = globalThis.crossOriginIsolated;
  record.wallSeconds = (performance.now() - started) / 1000;
  return record;
};
window.benchReady = true;
