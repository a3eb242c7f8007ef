// cli.mjs - the options every configuration runner takes (node_run.mjs,
// chromium.mjs), and what they turn into for the shared runners.
import { parseArgs } from 'node:util';

export const USAGE = `  ours --variant simd|simd-threads --threads N [--memory]
  tfjs --backend wasm|cpu [--threads N (wasm, where threads work)] [--chunk 8]
       [--heavy-limit 300 (skip smoothgrad/ig when samples x gradient would take longer, in s)]
  common: --model PATH --photo PATH [--preprocess caffe|tf] [--runs R] [--warmup W]
          [--heavy-runs R] [--heavy-warmup W] [--figures forward,gradient,smoothgrad,ig]
          [--smooth-samples 25] [--smooth-noise 0.15] [--ig-steps 32]`;

export function parseRunnerArgs(argv, name) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      variant: { type: 'string', default: 'simd' },
      threads: { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      model: { type: 'string' },
      photo: { type: 'string' },
      preprocess: { type: 'string', default: 'caffe' },
      runs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'heavy-runs': { type: 'string', default: '3' },
      'heavy-warmup': { type: 'string', default: '1' },
      figures: { type: 'string', default: 'forward,gradient,smoothgrad,ig' },
      'smooth-samples': { type: 'string', default: '25' },
      'smooth-noise': { type: 'string', default: '0.15' },
      'ig-steps': { type: 'string', default: '32' },
      chunk: { type: 'string', default: '8' },
      'heavy-limit': { type: 'string', default: '300' },
      memory: { type: 'boolean', default: false },
    },
  });
  const kind = positionals[0];
  if (!['ours', 'tfjs'].includes(kind) || !values.model || !values.photo) {
    console.error(`usage: ${name}\n${USAGE}`);
    process.exit(2);
  }
  return {
    kind, variant: values.variant, threads: Number(values.threads), backend: values.backend,
    model: values.model, photo: values.photo, preprocess: values.preprocess, memory: values.memory,
    runs: Number(values.runs), warmup: Number(values.warmup),
    heavyRuns: Number(values['heavy-runs']), heavyWarmup: Number(values['heavy-warmup']),
    figures: values.figures.split(',').filter(Boolean),
    smoothSamples: Number(values['smooth-samples']), smoothNoise: Number(values['smooth-noise']),
    igSteps: Number(values['ig-steps']), chunk: Number(values.chunk),
    heavyLimitSeconds: Number(values['heavy-limit']),
  };
}
