#!/usr/bin/env node
// bench_node.mjs - ResNet50 at 224x224 through web/engine.js in Node: the
// forward pass, the vanilla gradient (forward + input-gradient backward, as
// bench_native's "gradient") and explain('vanilla') of a photo (decoded once;
// resized, preprocessed and explained on every run), for
// the simd variant with 1 thread and simd-threads with 2.  Prints medians of
// --runs timed runs after --warmup untimed ones.  Needs dist/ (npm run build)
// and the asset cache.
//
//   node scripts/bench_node.mjs [--runs 10] [--warmup 2] [--model PATH/model.json]
//                               [--image PHOTO] [--configs simd:1,simd-threads:2]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createEngine } from '../web/engine.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const assets = process.env.SAL_CACHE_DIR ? join(process.env.SAL_CACHE_DIR, 'assets') : join(repo, '.cache/assets');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    model: { type: 'string', default: join(assets, 'resnet50/model.json') },
    image: { type: 'string', default: join(assets, 'photos/cat.jpg') },
    configs: { type: 'string', default: 'simd:1,simd-threads:2' },
  },
});

function readModel(path) {
  const json = readFileSync(path, 'utf8');
  const names = JSON.parse(json).weightsManifest.flatMap((group) => group.paths);
  return { json, shards: names.map((name) => ({ name, data: readFileSync(join(dirname(path), name)) })) };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function time(fn, runs, warmup) {
  for (let i = 0; i < warmup; i++) fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    ms.push(performance.now() - start);
  }
  return { median: median(ms), min: Math.min(...ms), max: Math.max(...ms) };
}

const runs = Number(args.runs), warmup = Number(args.warmup);
const source = readModel(args.model);
const rows = [];
for (const config of args.configs.split(',')) {
  const [variant, threads] = config.split(':');
  const engine = await createEngine({ variant, threads: Number(threads) });
  const model = engine.loadModel({ ...source, preprocess: 'caffe' });
  const photo = engine.decodeImage(readFileSync(args.image));
  // Timing does not depend on the values: any input of the right size will do.
  const input = Float32Array.from({ length: model.inputHeight * model.inputWidth * 3 },
    (_, i) => 100 * Math.sin(0.001 * i));
  const figures = {
    forward: time(() => engine.forward(model, input), runs, warmup),
    gradient: time(() => engine.backward(model, input), runs, warmup),
    explain: time(() => engine.explain(model, photo, { method: 'vanilla' }), runs, warmup),
  };
  rows.push({ variant: engine.variant, threads: engine.threads, ...figures });
  engine.dispose();
}

const cell = ({ median: m, min, max }) => `${m.toFixed(0)} (${min.toFixed(0)}-${max.toFixed(0)})`;
console.log(`ResNet50 224x224 in Node ${process.version}, median (min-max) ms of ${runs} runs after ${warmup} warm-up`);
console.log('| variant | threads | forward | vanilla gradient | explain vanilla |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.variant} | ${r.threads} | ${cell(r.forward)} | ${cell(r.gradient)} | ${cell(r.explain)} |`);
}
