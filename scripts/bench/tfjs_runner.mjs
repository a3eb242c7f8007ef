// tfjs_runner.mjs - TensorFlow.js on the same model.json, as a careful user
// would time it: forward (model.predict), the vanilla gradient (tf.grad of the
// pre-softmax score of the target class), SmoothGrad and Integrated Gradients
// as that many gradient evaluations, batched `chunk` inputs per call.  The
// caller passes the tf namespaces (Node packages or the page's UMD bundles),
// so Node and Chromium run this same file.

import { attempt, cosine, maxAbsDiff, time } from './stats.mjs';

/* The Keras config whose output layer's softmax is made linear, so that the
 * model's output is the logits our library differentiates. */
export function preSoftmaxArtifacts(modelJson, weightData) {
  const topology = structuredClone(modelJson.modelTopology);
  const config = (topology.model_config ?? topology).config;
  const outputName = config.output_layers[0][0];
  const output = config.layers.find((layer) => layer.name === outputName);
  if (!output || output.config.activation !== 'softmax') {
    throw new Error(`bench: the output layer '${outputName}' has no softmax activation to remove`);
  }
  output.config.activation = 'linear';
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  return { modelTopology: topology, weightSpecs, weightData };
}

/* The shards of a weights manifest, concatenated in manifest order. */
export function concatShards(modelJson, shardsByName) {
  const names = modelJson.weightsManifest.flatMap((group) => group.paths);
  const total = names.reduce((sum, name) => sum + shardsByName.get(name).byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const name of names) {
    const data = shardsByName.get(name);
    const shard = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    out.set(shard, offset);
    offset += shard.byteLength;
  }
  return out.buffer;
}

/* The values of the tensor fn makes, every intermediate tensor freed. */
function valuesOf(tf, fn) {
  let values;
  tf.tidy(() => {
    values = fn().dataSync();
  });
  return values;
}

function inputRange(data) {
  let lo = Infinity, hi = -Infinity;
  for (const v of data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi - lo;
}

/* Gradient sums over `count` inputs made by makeBatch(first, n), n <= chunk per
 * call; returns the sum as a tensor (each batch's gradient summed over axis 0,
 * times weights when given). */
function sumGradients(tf, gradFn, makeBatch, count, chunk) {
  let total = null;
  for (let first = 0; first < count; first += chunk) {
    const n = Math.min(chunk, count - first);
    const partial = tf.tidy(() => tf.sum(gradFn(makeBatch(first, n)), 0));
    if (total) {
      const next = tf.add(total, partial);
      total.dispose();
      partial.dispose();
      total = next;
    } else total = partial;
  }
  return total;
}

/* Filter-gradient kernels tf.grad runs although only the input gradient is
 * asked for: tfjs' fused convolutions (used for every linear-activation conv,
 * i.e. all of a Keras ResNet50's) compute dx and dfilter together.  Where the
 * backend lacks them, a stub returning zeros stands in: the values are never
 * used, and tfjs is spared that work (which can only flatter it).  Returns
 * the names stubbed. */
const FILTER_GRADIENT_KERNELS = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter'];

function stubFilterGradients(tf, backendName) {
  const stubbed = [];
  for (const kernelName of FILTER_GRADIENT_KERNELS) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({
      kernelName, backendName,
      kernelFunc: ({ backend, attrs }) => {
        const out = backend.makeOutput(attrs.filterShape, 'float32');
        backend.typedArrayFromHeap(out).fill(0);
        return out;
      },
    });
    stubbed.push(kernelName);
  }
  return stubbed;
}

/* options: { tf, tfl, backend, artifacts, shape: [h, w, c], input, baseline,
 * reference: { logits, gradient, target }, runs, warmup, heavyRuns, heavyWarmup,
 * chunk, smoothSamples, smoothNoise, igSteps, heavyLimitSeconds, figures: Set of names, log,
 * onFigure } */
export async function measureTfjs(o) {
  const { tf, tfl } = o;
  const [h, w, c] = o.shape;
  const record = { backend: o.backend };
  if (!(await tf.setBackend(o.backend))) throw new Error(`tfjs backend '${o.backend}' did not initialize`);
  await tf.ready();
  record.backend = tf.getBackend();
  if (o.backend === 'wasm') {
    record.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    record.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    record.threads = record.multithread && o.wasmThreads ? o.wasmThreads() : 1;
    record.stubbedKernels = stubFilterGradients(tf, 'wasm');
  } else record.threads = 1;

  const model = await tfl.loadLayersModel(tf.io.fromMemory(o.artifacts));
  const classes = model.outputs[0].shape[1];
  const target = o.reference.target;
  const x = tf.tensor4d(o.input, [1, h, w, c]);
  const score = (xs) => tf.sum(tf.mul(model.apply(xs, { training: false }),
    tf.oneHot(tf.fill([xs.shape[0]], target, 'int32'), classes)));
  const gradFn = tf.grad(score);
  const log = o.log ?? (() => {});

  /* One run without warm-up (the slow backends): the checked call is the timed one. */
  const single = o.runs === 1 && o.warmup === 0;
  const once = (fn) => {
    const start = performance.now();
    const values = fn();
    const ms = performance.now() - start;
    return { values, timing: { median: ms, min: ms, max: ms, runs: 1, warmup: 0 } };
  };
  log(`${o.backend} forward`);
  const forwardOnce = once(() => valuesOf(tf, () => model.predict(x)));
  record.logitsMaxAbsDiff = maxAbsDiff(forwardOnce.values, o.reference.logits);
  record.logitsMaxAbs = Math.max(...o.reference.logits.map(Math.abs));
  if (o.figures.has('forward')) {
    record.forward = single ? forwardOnce.timing : await attempt('forward',
      () => time(() => valuesOf(tf, () => model.predict(x)), o.runs, o.warmup));
    o.onFigure?.(record);
  }
  log(`${o.backend} gradient`);
  const check = await attempt('gradient', () => once(() => valuesOf(tf, () => gradFn(x))));
  if (check.failed) {
    record.gradient = record.smoothgrad = record.ig = check;
    o.onFigure?.(record);
    x.dispose();
    model.dispose();
    return record;
  }
  record.gradientCosine = cosine(check.values, o.reference.gradient);
  const checkMs = check.timing.median;
  if (o.figures.has('gradient')) {
    record.gradient = single ? check.timing : await attempt('gradient',
      () => time(() => valuesOf(tf, () => gradFn(x)), o.runs, o.warmup));
  }
  o.onFigure?.(record);
  /* The heavy figures are o.smoothSamples / o.igSteps gradients each; a
   * backend slow enough to blow the time limit is skipped, with the estimate. */
  const gradientMs = record.gradient?.median ?? checkMs;
  const projectedSeconds = (count) => count * gradientMs / 1000;
  const tooSlow = (count) => projectedSeconds(count) > o.heavyLimitSeconds;
  const skip = (count) => ({ skipped: `not run: about ${Math.round(projectedSeconds(count))} s projected ` +
    `(${count} x the gradient), over the ${o.heavyLimitSeconds} s limit`, projectedMs: count * gradientMs });
  if (o.figures.has('smoothgrad') && tooSlow(o.smoothSamples)) {
    record.smoothgrad = skip(o.smoothSamples);
  } else if (o.figures.has('smoothgrad')) {
    log(`${o.backend} smoothgrad ${o.smoothSamples}`);
    const sigma = o.smoothNoise * inputRange(o.input);
    const noisy = (first, n) => tf.add(tf.tile(x, [n, 1, 1, 1]), tf.randomNormal([n, h, w, c], 0, sigma));
    const run = () => {
      const sum = sumGradients(tf, gradFn, noisy, o.smoothSamples, o.chunk);
      valuesOf(tf, () => tf.div(sum, o.smoothSamples));
      sum.dispose();
    };
    record.smoothgrad = { ...await attempt('smoothgrad', () => time(run, o.heavyRuns, o.heavyWarmup)),
      samples: o.smoothSamples, chunk: o.chunk };
    o.onFigure?.(record);
  }
  if (o.figures.has('ig') && tooSlow(o.igSteps)) {
    record.ig = skip(o.igSteps);
  } else if (o.figures.has('ig')) {
    log(`${o.backend} ig ${o.igSteps}`);
    const base = tf.tensor4d(o.baseline, [1, h, w, c]);
    const delta = tf.sub(x, base);
    const path = (first, n) => {
      const alphas = tf.reshape(tf.div(tf.add(tf.range(first, first + n), 0.5), o.igSteps), [n, 1, 1, 1]);
      return tf.add(base, tf.mul(delta, alphas));
    };
    const run = () => {
      const sum = sumGradients(tf, gradFn, path, o.igSteps, o.chunk);
      valuesOf(tf, () => tf.div(tf.mul(sum, delta), o.igSteps));
      sum.dispose();
    };
    record.ig = { ...await attempt('ig', () => time(run, o.heavyRuns, o.heavyWarmup)), steps: o.igSteps,
      chunk: o.chunk };
    o.onFigure?.(record);
    base.dispose();
    delta.dispose();
  }
  x.dispose();
  model.dispose();
  return record;
}
