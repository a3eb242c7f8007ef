#!/usr/bin/env node
// node_run.mjs - one benchmark configuration in this Node process.  The
// orchestrator (scripts/bench/main.mjs) starts one process per configuration,
// so that wasm heaps and thread pools never share a process.  Progress goes to
// stderr; stdout gets "BENCH_PARTIAL {json}" after each figure (in case a
// later one takes the process down, as tfjs' wasm heap can) and finally
// "BENCH_RESULT {json}".
//
//   node scripts/bench/node_run.mjs ours|tfjs [options of cli.mjs]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createEngine } from '../../web/engine.js';
import { parseRunnerArgs } from './cli.mjs';
import { runConfiguration } from './configuration.mjs';

const cfg = parseRunnerArgs(process.argv.slice(2), 'node scripts/bench/node_run.mjs');

function readModel(path) {
  const json = readFileSync(path, 'utf8');
  const parsed = JSON.parse(json);
  const names = parsed.weightsManifest.flatMap((group) => group.paths);
  return { json, parsed, shards: names.map((name) => ({ name, data: readFileSync(join(dirname(path), name)) })) };
}

/* tfjs-core, -layers and both backends, the wasm one pointed at its files. */
async function loadTfjs() {
  const tf = await import('@tensorflow/tfjs-core');
  const tfl = await import('@tensorflow/tfjs-layers');
  await import('@tensorflow/tfjs-backend-cpu');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  tf.env().set('PROD', true); /* no "install tfjs-node" banner on stdout */
  wasm.setWasmPaths(`${dirname(fileURLToPath(import.meta.resolve('@tensorflow/tfjs-backend-wasm')))}/`);
  return { tf, tfl, wasmThreads: () => wasm.getThreadsCount() };
}

const env = {
  createEngine,
  model: readModel(cfg.model),
  photoBytes: readFileSync(cfg.photo),
  ...(cfg.kind === 'tfjs' ? await loadTfjs() : {}),
  log: (text) => process.stderr.write(`  [node ${cfg.kind}] ${text}\n`),
  onFigure: (record) => process.stdout.write(`BENCH_PARTIAL ${JSON.stringify(record)}\n`),
};
const started = performance.now();
const record = await runConfiguration(env, cfg);
record.runtime = `Node ${process.version}`;
record.wallSeconds = (performance.now() - started) / 1000;
process.stdout.write(`BENCH_RESULT ${JSON.stringify(record)}\n`);
