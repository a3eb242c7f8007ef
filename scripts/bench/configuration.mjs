// configuration.mjs - one configuration of the benchmark, the same in Node
// and in the Chromium page: the inputs, then our engine or TensorFlow.js.
//
// env: { createEngine, model: { json, parsed, shards: [{ name, data }] },
//        photoBytes, tf, tfl (tfjs only), wasmThreads (tfjs only), log, onFigure }
// cfg: what cli.mjs parses (kind, variant, threads, backend, preprocess, runs, ...)

import { prepareInputs } from './inputs.mjs';
import { measureOurs, peakMemory, referenceOutputs } from './ours_runner.mjs';
import { concatShards, measureTfjs, preSoftmaxArtifacts } from './tfjs_runner.mjs';

export async function runConfiguration(env, cfg) {
  const source = { json: env.model.json, shards: env.model.shards, preprocess: cfg.preprocess };
  const inputs = await prepareInputs(env.createEngine, source, env.photoBytes);
  const common = { ...cfg, figures: new Set(cfg.figures), source, log: env.log, onFigure: env.onFigure };
  if (cfg.kind === 'ours') {
    const record = await measureOurs({ ...common, createEngine: env.createEngine, pixels: inputs.pixels,
      input: inputs.input });
    if (cfg.memory) {
      env.log?.('peak memory of one gradient (fresh engine)');
      record.memory = await peakMemory(env.createEngine, cfg.variant, cfg.threads, source, inputs.input);
    }
    return record;
  }
  env.log?.('reference: our logits and gradient');
  const reference = await referenceOutputs(env.createEngine, source, inputs.input);
  const shards = new Map(env.model.shards.map(({ name, data }) => [name, data]));
  const artifacts = preSoftmaxArtifacts(env.model.parsed, concatShards(env.model.parsed, shards));
  return measureTfjs({ ...common, tf: env.tf, tfl: env.tfl, backend: cfg.backend, artifacts, shape: inputs.shape,
    input: inputs.input, baseline: inputs.baseline, reference, chunk: cfg.chunk, wasmThreads: env.wasmThreads });
}
