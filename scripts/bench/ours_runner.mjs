// ours_runner.mjs - this library through web/engine.js (Node or the Chromium
// page): forward, the vanilla gradient (engine.backward on the preprocessed
// input), SmoothGrad and Integrated Gradients through engine.explain, i.e. the
// library's own batching, and the peak wasm memory of one gradient.

import { attempt, time } from './stats.mjs';

/* options: { createEngine, variant, threads, source ({ json, shards, preprocess }),
 * pixels, input, runs, warmup, heavyRuns, heavyWarmup, smoothSamples,
 * smoothNoise, igSteps, figures: Set, log } */
export async function measureOurs(o) {
  const engine = await o.createEngine({ variant: o.variant, threads: o.threads });
  const log = o.log ?? (() => {});
  try {
    const model = engine.loadModel(o.source);
    const record = { variant: engine.variant, threads: engine.threads };
    const first = engine.backward(model, o.input);
    record.target = first.targets[0];
    if (o.figures.has('forward')) {
      log(`${engine.variant} forward`);
      record.forward = await attempt('forward', () => time(() => engine.forward(model, o.input), o.runs, o.warmup));
      o.onFigure?.(record);
    }
    if (o.figures.has('gradient')) {
      log(`${engine.variant} gradient`);
      record.gradient = await attempt('gradient', () => time(() => engine.backward(model, o.input),
        o.runs, o.warmup));
      o.onFigure?.(record);
    }
    if (o.figures.has('smoothgrad')) {
      log(`${engine.variant} smoothgrad ${o.smoothSamples}`);
      const options = { method: 'vanilla', smoothSamples: o.smoothSamples, smoothNoise: o.smoothNoise };
      record.smoothgrad = { ...await attempt('smoothgrad', () => time(() => engine.explain(model, o.pixels, options),
        o.heavyRuns, o.heavyWarmup)), samples: o.smoothSamples };
      o.onFigure?.(record);
    }
    if (o.figures.has('ig')) {
      log(`${engine.variant} ig ${o.igSteps}`);
      const options = { method: 'integrated-gradients', steps: o.igSteps };
      record.ig = { ...await attempt('ig', () => time(() => engine.explain(model, o.pixels, options),
        o.heavyRuns, o.heavyWarmup)), steps: o.igSteps };
      o.onFigure?.(record);
    }
    return record;
  } finally {
    engine.dispose();
  }
}

/* Our logits and gradient of the top class: the reference tfjs must match. */
export async function referenceOutputs(createEngine, source, input) {
  const engine = await createEngine({ threads: 2 });
  try {
    const model = engine.loadModel(source);
    const result = engine.backward(model, input);
    return { logits: Array.from(result.logits), gradient: result.inputGradient, target: result.targets[0] };
  } finally {
    engine.dispose();
  }
}

/* Wasm memory never shrinks, so its size after a call is that call's peak.  A
 * fresh engine: its size after loading the model, then after one gradient. */
export async function peakMemory(createEngine, variant, threads, source, input) {
  const engine = await createEngine({ variant, threads });
  try {
    const start = engine.heapBytes();
    const model = engine.loadModel(source);
    const loaded = engine.heapBytes();
    engine.backward(model, input);
    return { variant: engine.variant, threads: engine.threads, emptyBytes: start, afterLoadBytes: loaded,
      peakBytes: engine.heapBytes(), inUseAfterBytes: engine.heapInUse() };
  } finally {
    engine.dispose();
  }
}
