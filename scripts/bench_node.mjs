#!/usr/bin/env node
// bench_node.mjs - a quick look at one model through web/engine.js in this
// Node process (the full comparison is `npm run bench`): forward, the vanilla
// gradient, and, when asked, SmoothGrad-25 and IG-32 through explain, for the
// simd variant with 1 thread and simd-threads with 2.  Medians of --runs
// timed runs after --warmup untimed ones (SmoothGrad and IG: --heavy-runs).
// Needs dist/ (npm run build) and the asset cache.
//
//   node scripts/bench_node.mjs [--runs 10] [--warmup 2] [--heavy-runs 1]
//        [--model PATH/model.json] [--preprocess caffe|tf] [--image PHOTO]
//        [--configs simd:1,simd-threads:2] [--figures forward,gradient[,smoothgrad,ig]]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createEngine } from '../web/engine.js';
import { runConfiguration } from './bench/configuration.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const assets = process.env.SAL_CACHE_DIR ? join(process.env.SAL_CACHE_DIR, 'assets') : join(repo, '.cache/assets');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'heavy-runs': { type: 'string', default: '1' },
    model: { type: 'string', default: join(assets, 'resnet50/model.json') },
    preprocess: { type: 'string', default: 'caffe' },
    image: { type: 'string', default: join(assets, 'photos/cat.jpg') },
    configs: { type: 'string', default: 'simd:1,simd-threads:2' },
    figures: { type: 'string', default: 'forward,gradient' },
  },
});

function readModel(path) {
  const json = readFileSync(path, 'utf8');
  const parsed = JSON.parse(json);
  const names = parsed.weightsManifest.flatMap((group) => group.paths);
  return { json, parsed, shards: names.map((name) => ({ name, data: readFileSync(join(dirname(path), name)) })) };
}

const env = { createEngine, model: readModel(args.model), photoBytes: readFileSync(args.image) };
const figures = args.figures.split(',');
const rows = [];
for (const config of args.configs.split(',')) {
  const [variant, threads] = config.split(':');
  rows.push(await runConfiguration(env, {
    kind: 'ours', variant, threads: Number(threads), preprocess: args.preprocess, figures,
    runs: Number(args.runs), warmup: Number(args.warmup), heavyRuns: Number(args['heavy-runs']), heavyWarmup: 0,
    smoothSamples: 25, smoothNoise: 0.15, igSteps: 32,
  }));
}

const cell = (f) => (f?.median === undefined ? (f?.failed ?? '-')
  : `${f.median.toFixed(0)} (${f.min.toFixed(0)}-${f.max.toFixed(0)})`);
console.log(`${args.model} in Node ${process.version}, median (min-max) ms of ${args.runs} runs after ${args.warmup} ` +
  `warm-up (SmoothGrad-25, IG-32: ${args['heavy-runs']} runs)`);
console.log(`| variant | threads | ${figures.join(' | ')} |`);
console.log(`|---|---:|${figures.map(() => '---:').join('|')}|`);
for (const r of rows) console.log(`| ${r.variant} | ${r.threads} | ${figures.map((f) => cell(r[f])).join(' | ')} |`);
