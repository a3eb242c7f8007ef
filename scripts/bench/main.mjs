#!/usr/bin/env node
// main.mjs - `npm run bench` after scripts/bench.sh has built everything: runs
// every configuration (each in its own process), then writes
// bench-output/bench.json and bench-output/bench.md and prints the table.
//
// Environment (all optional):
//   SAL_BENCH_RUNS, SAL_BENCH_WARMUP  timed and untimed runs of forward and gradient (5, 1)
//   SAL_BENCH_HEAVY_RUNS               timed runs of SmoothGrad-25 and IG-32 (ours: ceil(runs / 2),
//                                      after one warm-up unless SAL_BENCH_WARMUP=0; tfjs: 1, no warm-up)
//   SAL_BENCH_ONLY                     groups to run, comma-separated: native,node,chromium,tfjs,ceiling
//   SAL_BENCH_MODELS                   models, comma-separated: resnet50,mobilenet_v2 (both)
//   SAL_BENCH_TFJS_LIMIT               seconds a tfjs SmoothGrad/IG run may take (projected from its
//                                      gradient) before it is skipped (300)
//   SAL_BENCH_TFJS_CHUNK               inputs per tfjs gradient call in SmoothGrad/IG (4)
//   SAL_CACHE_DIR, SAL_BUILD_DIR, SAL_WASM_BUILD_DIR  as for scripts/bench.sh
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { modelInfo } from './model_info.mjs';
import { analyze, renderMarkdown, renderTable } from './report.mjs';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CACHE = resolve(process.env.SAL_CACHE_DIR ?? join(REPO, '.cache'));
const ASSETS = join(CACHE, 'assets');
const BUILD = resolve(process.env.SAL_BUILD_DIR ?? join(REPO, 'build'));
const WASM_BUILD = resolve(process.env.SAL_WASM_BUILD_DIR ?? join(REPO, 'build-wasm'));
const OUT = join(REPO, 'bench-output');
const PHOTO = join(ASSETS, 'photos/cat.jpg');
const GROUPS = ['ceiling', 'native', 'node', 'chromium', 'tfjs'];

const ALL_MODELS = {
  resnet50: { name: 'ResNet50', path: join(ASSETS, 'resnet50/model.json'), preprocess: 'caffe' },
  mobilenet_v2: { name: 'MobileNetV2', path: join(ASSETS, 'mobilenet_v2/model.json'), preprocess: 'tf' },
};
const MODELS = (() => {
  const keys = (process.env.SAL_BENCH_MODELS || Object.keys(ALL_MODELS).join(',')).split(',').filter(Boolean);
  const unknown = keys.filter((k) => !ALL_MODELS[k]);
  if (unknown.length) {
    const valid = Object.keys(ALL_MODELS).join(', ');
    throw new Error(`SAL_BENCH_MODELS: unknown model(s) ${unknown.join(', ')}; valid: ${valid}`);
  }
  return Object.fromEntries(keys.map((k) => [k, ALL_MODELS[k]]));
})();

const SETTINGS = (() => {
  const int = (name, fallback, min) => {
    const text = process.env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, not '${text}'`);
    return value;
  };
  const runs = int('SAL_BENCH_RUNS', 5, 1);
  const warmup = int('SAL_BENCH_WARMUP', 1, 0);
  const only = (process.env.SAL_BENCH_ONLY || GROUPS.join(',')).split(',').map((g) => g.trim()).filter(Boolean);
  const unknown = only.filter((g) => !GROUPS.includes(g));
  if (unknown.length) throw new Error(`SAL_BENCH_ONLY: unknown group(s) ${unknown.join(', ')}; valid: ${GROUPS.join(', ')}`);
  return {
    runs, warmup, only,
    heavyRuns: int('SAL_BENCH_HEAVY_RUNS', Math.ceil(runs / 2), 1),
    heavyWarmup: Math.min(warmup, 1),
    tfjsRuns: Math.min(runs, 3), tfjsWarmup: Math.min(warmup, 1),
    tfjsLimit: int('SAL_BENCH_TFJS_LIMIT', 300, 0),
    /* 8 per call ran tfjs-wasm out of memory on ResNet50 (IG); 4 is as fast per input as 1 there. */
    tfjsChunk: int('SAL_BENCH_TFJS_CHUNK', 4, 1),
    smoothSamples: 25, smoothNoise: 0.15, igSteps: 32,
  };
})();

const say = (text) => process.stderr.write(`bench: ${text}\n`);

/* ------------------------------------------------------------ children */

/* Runs a command, passing its stderr through; resolves with its stdout lines
 * and exit status (never rejects). */
function run(command, args, { quiet = false, timeoutSeconds = 0 } = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderrTail = '', stopped = null;
    /* SIGTERM first: chromium.mjs (playwright) then closes its browser. */
    const timer = timeoutSeconds > 0 && setTimeout(() => {
      stopped = `stopped after ${timeoutSeconds} s`;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, timeoutSeconds * 1000);
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => {
      if (!quiet) process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk).slice(-2000);
    });
    child.on('error', (error) => done({ status: -1, lines: [], error: error.message }));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const failed = status !== 0 || signal;
      done({
        status, signal, lines: stdout.split('\n'),
        error: stopped ?? (failed ? lastMeaningfulLine(stderrTail) || `exit status ${status ?? signal}` : null),
      });
    });
  });
}

function lastMeaningfulLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^at |^\^|^Node\.js v/.test(l));
  return lines.at(-1)?.slice(0, 300) ?? '';
}

/* A runner child (node_run.mjs, chromium.mjs): its BENCH_RESULT, or the last
 * BENCH_PARTIAL with every missing figure marked as lost to the crash. */
async function runRunner(script, args, timeoutSeconds = 0) {
  const result = await run(process.execPath, [join(REPO, 'scripts/bench', script), ...args], { timeoutSeconds });
  const tagged = (tag) => result.lines.filter((l) => l.startsWith(`${tag} `))
    .map((l) => JSON.parse(l.slice(tag.length + 1)));
  const final = tagged('BENCH_RESULT').at(-1);
  if (final) return final;
  const partial = tagged('BENCH_PARTIAL').at(-1) ?? {};
  const reason = `not finished: the process ended (${result.error ?? 'no result'})`;
  const figures = args[args.indexOf('--figures') + 1].split(',');
  for (const figure of figures) partial[figure] ??= { failed: reason };
  partial.crashed = reason;
  return partial;
}

function runnerArgs(modelKey, { heavyRuns = SETTINGS.heavyRuns, heavyWarmup = SETTINGS.heavyWarmup,
  runs = SETTINGS.runs, warmup = SETTINGS.warmup, figures = 'forward,gradient,smoothgrad,ig' } = {}) {
  const model = MODELS[modelKey];
  return ['--model', model.path, '--preprocess', model.preprocess, '--photo', PHOTO,
    '--runs', runs, '--warmup', warmup, '--heavy-runs', heavyRuns, '--heavy-warmup', heavyWarmup,
    '--figures', figures, '--smooth-samples', SETTINGS.smoothSamples, '--smooth-noise', SETTINGS.smoothNoise,
    '--ig-steps', SETTINGS.igSteps].map(String);
}

/* -------------------------------------------------------------- groups */

async function ceilingGroup(results) {
  const wasm = join(WASM_BUILD, 'saliency-simd/bench_gemm_ceiling.js');
  const native = join(BUILD, 'bench_gemm_ceiling');
  const parse = (lines) => {
    const line = lines.find((l) => l.startsWith('ceiling_json '));
    return line ? JSON.parse(line.slice('ceiling_json '.length)) : null;
  };
  for (const [key, command, args] of [
    ['wasm', process.execPath, ['--no-experimental-fetch', wasm, '--threads', '1']],
    ['native', native, ['--threads', '1']],
  ]) {
    const file = key === 'wasm' ? wasm : native;
    if (!existsSync(file)) {
      results.ceiling[key] = { failed: `${file} is missing (scripts/bench.sh builds it)` };
      continue;
    }
    say(`ceiling: ${key} matrix-multiply microbenchmark, 1 thread`);
    const result = await run(command, args, { quiet: true });
    results.ceiling[key] = parse(result.lines) ?? { failed: result.error ?? 'no ceiling_json line' };
  }
}

function nativeBackends() {
  const probe = (backend) => run(join(BUILD, 'bench_native'), ['--model', Object.values(MODELS)[0].path,
    '--image', PHOTO, '--preprocess', Object.values(MODELS)[0].preprocess, '--backend', backend,
    '--runs', '1', '--warmup', '0', '--figures', 'forward'], { quiet: true });
  return Promise.all(['portable', 'xnnpack'].map(async (backend) => {
    const result = await probe(backend);
    return { backend, available: result.status === 0, error: result.error };
  }));
}

async function nativeGroup(results) {
  const binary = join(BUILD, 'bench_native');
  if (!existsSync(binary)) {
    say(`native: ${binary} is missing (scripts/bench.sh builds it)`);
    return;
  }
  const backends = await nativeBackends();
  for (const modelKey of Object.keys(MODELS)) {
    for (const { backend, available, error } of backends) {
      for (const threads of [2, 1]) {
        const row = { library: 'ours', environment: 'native', model: modelKey, variant: backend, threads };
        results.rows.push(row);
        if (!available) {
          row.unavailable = `backend ${backend} not available: ${error}`;
          continue;
        }
        /* One thread: forward and gradient only, to keep the run short. */
        const figures = threads === 1 ? 'forward,gradient' : 'forward,gradient,smoothgrad,ig';
        say(`native: ${MODELS[modelKey].name} ${backend} ${threads} thread(s)`);
        const model = MODELS[modelKey];
        const result = await run(binary, ['--model', model.path, '--image', PHOTO, '--preprocess', model.preprocess,
          '--backend', backend, '--threads', threads, '--runs', SETTINGS.runs, '--warmup', SETTINGS.warmup,
          '--heavy-runs', SETTINGS.heavyRuns, '--heavy-warmup', SETTINGS.heavyWarmup, '--figures', figures,
          '--smooth-samples', SETTINGS.smoothSamples, '--smooth-noise', SETTINGS.smoothNoise,
          '--ig-steps', SETTINGS.igSteps].map(String));
        for (const line of result.lines.filter((l) => l.startsWith('{'))) {
          const f = JSON.parse(line);
          row[f.figure] = { median: f.median_ms, min: f.min_ms, max: f.max_ms, runs: f.runs, warmup: f.warmup,
            ...(f.samples ? { samples: f.samples } : {}), ...(f.steps ? { steps: f.steps } : {}) };
        }
        if (result.status) row.crashed = `failed: ${result.error}`;
      }
    }
  }
}

async function oursGroup(results, environment) {
  const script = environment === 'node' ? 'node_run.mjs' : 'chromium.mjs';
  for (const modelKey of Object.keys(MODELS)) {
    for (const [variant, threads] of [['simd', 1], ['simd-threads', 2]]) {
      say(`${environment}: ours ${MODELS[modelKey].name} ${variant} ${threads} thread(s)`);
      const memory = modelKey === 'resnet50' ? ['--memory'] : [];
      const record = await runRunner(script, ['ours', '--variant', variant, '--threads', String(threads),
        ...memory, ...runnerArgs(modelKey)]);
      results.rows.push({ library: 'ours', environment, model: modelKey, variant, threads, ...record });
    }
  }
}

async function tfjsGroup(results) {
  /* tfjs-wasm has threads only in a cross-origin-isolated page (its Node build
   * turns them off): SmoothGrad and IG run there; Node gets forward and
   * gradient, to show what the threads bring. */
  const configs = [
    ['chromium', 'wasm', 2, 'forward,gradient,smoothgrad,ig'],
    ['node', 'wasm', 1, 'forward,gradient'],
    ['node', 'cpu', 1, 'forward,gradient,smoothgrad,ig'],
  ];
  for (const modelKey of Object.keys(MODELS)) {
    for (const [environment, backend, threads, figures] of configs) {
      const slow = backend === 'cpu';
      say(`tfjs: ${MODELS[modelKey].name} ${backend} in ${environment}`);
      const args = ['tfjs', '--backend', backend, '--threads', String(threads), '--chunk', String(SETTINGS.tfjsChunk),
        '--heavy-limit', String(SETTINGS.tfjsLimit),
        ...runnerArgs(modelKey, { runs: slow ? 1 : SETTINGS.tfjsRuns, warmup: slow ? 0 : SETTINGS.tfjsWarmup,
          heavyRuns: 1, heavyWarmup: 0, figures })];
      /* tfjs-cpu can take many minutes per gradient: its process gets the time limit. */
      const timeout = slow ? SETTINGS.tfjsLimit : 4 * SETTINGS.tfjsLimit;
      const record = await runRunner(environment === 'node' ? 'node_run.mjs' : 'chromium.mjs', args, timeout);
      results.rows.push({ library: 'tfjs', environment, model: modelKey, variant: backend, requestedThreads: threads,
        ...record });
    }
  }
}

/* ----------------------------------------------------------------- main */

/* The commit, marked when the working tree differs from it. */
function gitCommit() {
  const git = (...args) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    return git('status', '--porcelain', '--untracked-files=no').trim() ? `${commit} + local changes` : commit;
  } catch {
    return 'unknown (no git)';
  }
}

async function main() {
  const started = Date.now();
  for (const model of Object.values(MODELS)) {
    if (!existsSync(model.path)) throw new Error(`${model.path} is missing (scripts/bench.sh fetches/generates it)`);
  }
  const results = {
    meta: {
      date: new Date().toISOString(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
      commit: gitCommit(), node: process.version, loadAverageAtStart: loadavg().map((v) => +v.toFixed(2)),
      settings: SETTINGS, photo: 'cat.jpg',
    },
    models: {},
    ceiling: {},
    rows: [],
  };
  for (const [key, model] of Object.entries(MODELS)) {
    results.models[key] = { name: model.name, preprocess: model.preprocess,
      ...await modelInfo(JSON.parse(readFileSync(model.path, 'utf8'))) };
  }
  const groups = { ceiling: ceilingGroup, native: nativeGroup, node: (r) => oursGroup(r, 'node'),
    chromium: (r) => oursGroup(r, 'chromium'), tfjs: tfjsGroup };
  for (const name of GROUPS) {
    if (SETTINGS.only.includes(name)) await groups[name](results);
  }
  results.meta.loadAverageAtEnd = loadavg().map((v) => +v.toFixed(2));
  results.meta.wallSeconds = Math.round((Date.now() - started) / 1000);

  analyze(results);
  mkdirSync(OUT, { recursive: true });
  const markdown = renderMarkdown(results);
  writeFileSync(join(OUT, 'bench.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(join(OUT, 'bench.md'), markdown);
  process.stdout.write(`${renderTable(results)}\n`);
  say(`written: ${join(OUT, 'bench.json')}, ${join(OUT, 'bench.md')} (${results.meta.wallSeconds} s)`);
  if (results.disagreements?.length) {
    say(`ERROR: TensorFlow.js and this library disagree:\n  ${results.disagreements.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  say(`error: ${error.message}`);
  process.exitCode = 1;
});
