// index.js - the saliency library's JavaScript API (browsers and Node).
//
//   const s = await Saliency.create({ threads: 0, worker: true });
//   const model = await s.loadModel('models/resnet50/model.json', { preprocess: 'caffe', labels: 'labels.json' });
//   const top5 = await s.classify(image, { top: 5 });              // [{ index, label, score }]
//   const mask = await s.explain(image, { method: 'integrated-gradients', steps: 64, onProgress, signal });
//   const canvas = toCanvas(visualizeImageGrayscale(mask), { colormap: 'inferno', overlay: image });
//
// The heavy work runs in a Web Worker (a worker_threads Worker in Node) unless
// `worker: false`.  Every long call takes onProgress(fraction) and an
// AbortSignal; an aborted call rejects with an AbortError and the session
// stays usable.  Failures reject with an Error naming the problem.
import { DirectBackend, WorkerBackend, abortError, sharedMemoryUsable, transferList } from './backend.js';
import { rgbaToCanvas } from './canvas.js';
import { imageToInput, imageToPixelsSync, imageTransferList } from './images.js';
import { loadLabels, readModelSource } from './models.js';
import { resizeCrop } from './resize.js';
import { COLORMAPS, colorizeMap, displayMap, visualizeImageDiverging, visualizeImageGrayscale } from './visualize.js';

export { COLORMAPS, visualizeImageDiverging, visualizeImageGrayscale };
export { percentileLinear, colorizeMap } from './visualize.js';
export { cropRect, resizeCrop } from './resize.js';
export { encodeNpy } from './npy.js';

const isBrowser = typeof window !== 'undefined' || typeof WorkerGlobalScope !== 'undefined';

export const METHODS = ['vanilla', 'gradient-x-input', 'guided-backprop', 'deconvnet', 'integrated-gradients',
  'occlusion', 'grad-cam', 'guided-grad-cam', 'xrai', 'blur-ig', 'guided-ig'];

// Options that are not the engine's explain options.
const CALL_OPTIONS = new Set(['model', 'onProgress', 'signal']);

function isFileList(source) {
  return Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList);
}

function describeSource(source) {
  if (typeof source === 'string' || source instanceof URL) return String(source);
  return isFileList(source) ? 'the picked files' : 'memory';
}

function withContext(error, context) {
  if (error?.name === 'AbortError') return error;
  const wrapped = new Error(`${context}: ${error?.message ?? error}`);
  wrapped.cause = error;
  return wrapped;
}

export const BASELINES = ['black', 'white', 'noise', 'blur'];

// A baseline is one of BASELINES, or any image (a path or URL included).
function isBaselineImage(baseline) {
  return baseline != null && !(typeof baseline === 'string' && BASELINES.includes(baseline));
}

export class Model {
  // retained: the bytes to load the model again after a worker restart (or null).
  constructor(session, id, info, { labels, preprocess, retained }) {
    Object.assign(this, info);
    this.session = session;
    this.id = id;
    this.labels = labels;
    this.preprocess = preprocess;
    this.retained = retained;
    this.freed = false;
  }

  label(index) {
    return this.labels?.[index] ?? null;
  }

  classify(image, options = {}) {
    return this.session.classify(image, { ...options, model: this });
  }

  explain(image, options = {}) {
    return this.session.explain(image, { ...options, model: this });
  }

  free() {
    return this.session.freeModel(this);
  }
}

export class Saliency {
  // threads: 0 = all cores (used by the 'simd-threads' variant);
  // worker: run the engine in a worker (default true);
  // variant: 'auto' | 'simd-threads' | 'simd'; wasmBinary: the .wasm bytes, if at hand;
  // sharedMemory: false stops aborted calls by restarting the worker even
  // where a SharedArrayBuffer flag would do (what pages without
  // crossOriginIsolated get; useful to test that path).
  static async create({ threads = 0, worker = true, variant = 'auto', wasmBinary, locateFile,
    sharedMemory = sharedMemoryUsable() } = {}) {
    if (!Number.isInteger(threads) || threads < 0) {
      throw new RangeError(`threads must be 0 (all cores) or more, not ${threads}`);
    }
    const session = new Saliency();
    const engineOptions = { threads, variant, wasmBinary };
    try {
      session.backend = worker
        ? await WorkerBackend.start(engineOptions, {
          restore: (backend) => session.reloadModels(backend), shared: sharedMemory && sharedMemoryUsable(),
        })
        : await DirectBackend.start({ ...engineOptions, locateFile });
    } catch (error) {
      throw withContext(error, 'could not start the saliency engine');
    }
    return session;
  }

  constructor() {
    this.backend = null;
    this.models = new Map();
    this.nextModelId = 1;
    this.model = null; // the model calls use when they name none: the last loaded
  }

  get variant() {
    return this.backend.info.variant;
  }

  get threads() {
    return this.backend.info.threads;
  }

  get usesWorker() {
    return this.backend instanceof WorkerBackend;
  }

  // Without shared memory an abort restarts the worker, which then needs the
  // models again: the session keeps their bytes for that.
  get keepsModelSources() {
    return this.usesWorker && !this.backend.shared;
  }

  async loadModel(source, { preprocess = 'caffe', labels, onProgress, signal } = {}) {
    const where = describeSource(source);
    let read;
    let names;
    try {
      read = await readModelSource(source, { onProgress, signal });
      names = await loadLabels(labels, read, signal);
    } catch (error) {
      throw withContext(error, `cannot load the model from ${where}`);
    }
    const id = this.nextModelId++;
    const args = { id, json: read.json, shards: read.shards, preprocess };
    // Bytes read here (not the caller's buffers) can move to the worker instead of being copied.
    const owned = typeof source === 'string' || source instanceof URL || isFileList(source);
    const retained = this.keepsModelSources ? args : null;
    const transfer = owned && !retained ? transferList(read.shards) : [];
    if (signal?.aborted) throw abortError();
    let info;
    try {
      // The library cannot stop a load half way; an abort during it unloads the model after.
      info = await this.backend.call('loadModel', args, { transfer });
    } catch (error) {
      throw withContext(error, `cannot load the model from ${where}`);
    }
    const model = new Model(this, id, info, { labels: names, preprocess, retained });
    this.models.set(id, model);
    if (signal?.aborted) {
      await this.freeModel(model);
      throw abortError();
    }
    this.model = model;
    return model;
  }

  async reloadModels(backend) {
    for (const model of this.models.values()) {
      if (!model.retained) continue;
      const { id, json, shards, preprocess } = model.retained;
      await backend.callNow('loadModel', { id, json, shards, preprocess });
    }
  }

  async freeModel(model) {
    if (!model || model.freed) return;
    model.freed = true;
    this.models.delete(model.id);
    if (this.model === model) this.model = [...this.models.values()].pop() ?? null;
    await this.backend.call('freeModel', { id: model.id });
  }

  modelFor(options) {
    const model = options.model ?? this.model;
    if (!model) throw new Error('no model loaded: call loadModel first');
    if (model.session !== this || model.freed) throw new Error('this model was freed or belongs to another session');
    return model;
  }

  async classify(image, { top = 5, model, signal } = {}) {
    const chosen = this.modelFor({ model });
    if (!Number.isInteger(top) || top <= 0) throw new RangeError(`top must be a positive whole number, not ${top}`);
    const input = await imageToInput(image, { signal });
    const ranking = await this.backend.call('classify', { model: chosen.id, image: input, top },
      { signal, transfer: imageTransferList(input) });
    return ranking.map(({ index, score }) => ({ index, label: chosen.label(index), score }));
  }

  async explain(image, options = {}) {
    const model = this.modelFor(options);
    const { onProgress, signal } = options;
    const engineOptions = {};
    for (const [key, value] of Object.entries(options)) {
      if (!CALL_OPTIONS.has(key) && value !== undefined) engineOptions[key] = value;
    }
    const input = await imageToInput(image, { signal });
    const transfer = imageTransferList(input);
    if (isBaselineImage(engineOptions.baseline)) {
      engineOptions.baseline = await imageToInput(engineOptions.baseline, { what: 'baseline', signal });
      transfer.push(...imageTransferList(engineOptions.baseline));
    }
    const mask = await this.backend.call('explain', { model: model.id, image: input, options: engineOptions },
      { onProgress, signal, transfer });
    return { ...mask, method: engineOptions.method ?? 'vanilla', label: model.label(mask.target) };
  }

  // The image as the engine reads it: RGBA8 { width, height, data }.
  async decodeImage(image, { signal } = {}) {
    const input = await imageToInput(image, { signal });
    if (!input.encoded) return input;
    return this.backend.call('decodeImage', { image: input }, { signal, transfer: imageTransferList(input) });
  }

  // Bilinear resampling in the library (e.g. a mask back to the photo's size).
  resizeMap(map, width, height) {
    return this.backend.call('resizeMap', { map, width, height });
  }

  // XRAI: 1 where the pixel's region is among the top `percent` % of the area.
  xraiTopMask(explanation, percent) {
    const { width, height, regionRank } = explanation;
    return this.backend.call('xraiTopMask', { explanation: { width, height, regionRank }, percent });
  }

  // PNG bytes of a map (coloured as by toCanvas) or of an RGBA picture.
  async toPNG(map, options = {}) {
    const overlay = options.overlay && (await this.decodeImage(options.overlay));
    return this.backend.call('encodePNG', { image: pictureOf(map, { ...options, overlay }) });
  }

  heapBytes() {
    return this.backend.call('heapBytes', {});
  }

  dispose() {
    this.backend?.dispose();
    this.models.clear();
    this.model = null;
  }
}

// ------------------------------------------------------------ pictures

function isRGBA8(value) {
  const bytes = value?.data instanceof Uint8ClampedArray || value?.data instanceof Uint8Array;
  return bytes && value.data.length === value.width * value.height * 4;
}

function toRGBA8(pixels) {
  if (!pixels.channels) return pixels;
  const rgba = new Uint8ClampedArray(pixels.width * pixels.height * 4);
  for (let i = 0; i < pixels.width * pixels.height; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = Math.round(pixels.data[3 * i + c]);
    rgba[4 * i + 3] = 255;
  }
  return { width: pixels.width, height: pixels.height, data: rgba };
}

// The photo under a heatmap: fitted to the map's size as the library fits
// photos to the model's input (scaled to cover, centre-cropped).
function overlayPixels(overlay, width, height) {
  const pixels = imageToPixelsSync(overlay, 'overlay');
  if (pixels.width === width && pixels.height === height) return toRGBA8(pixels);
  return resizeCrop(pixels, width, height);
}

// The RGBA picture of a map: masks go through displayMap (grayscale, or the
// diverging picture for the diverging colormap), then the colormap, then the
// overlay.  An RGBA image or a canvas passes through as it is.
function pictureOf(map, { colormap = 'gray', overlay, alpha = 0.5, percentile = 99 } = {}) {
  if (isRGBA8(map)) return { width: map.width, height: map.height, data: map.data };
  if (typeof map?.getContext === 'function') return imageToPixelsSync(map, 'picture');
  const shown = displayMap(map, { colormap, percentile });
  const photo = overlay ? overlayPixels(overlay, shown.width, shown.height) : undefined;
  return colorizeMap(shown, { colormap, overlay: photo, alpha });
}

// A heatmap: an HTMLCanvasElement (or OffscreenCanvas in a worker) in
// browsers; in Node an ImageData-like { width, height, data }.
// map: a 2-D map { width, height, data } (visualizeImage* output) or a mask.
export function toCanvas(map, options = {}) {
  return rgbaToCanvas(pictureOf(map, options));
}

// Only toPNG needs an engine of its own when no session is given: a small
// single-threaded one, made on first use and shared by later calls.
let pngEngine = null;

function sharedPngEngine() {
  pngEngine ??= import('./engine.js')
    .then(({ createEngine }) => createEngine({ variant: 'simd', threads: 1 }))
    .catch((error) => {
      pngEngine = null;
      throw error;
    });
  return pngEngine;
}

// PNG bytes of a map (coloured as by toCanvas) or of an RGBA picture / canvas.
export async function toPNG(map, options = {}) {
  if (options.session) return options.session.toPNG(map, options);
  const engine = await sharedPngEngine();
  let { overlay } = options;
  if (overlay) {
    const input = await imageToInput(overlay, { what: 'overlay' });
    overlay = input.encoded ? engine.decodeImage(input.encoded) : input;
  }
  return engine.encodePNG(pictureOf(map, { ...options, overlay }));
}

export { abortError, sharedMemoryUsable, isBrowser };
export default Saliency;
