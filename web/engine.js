/* engine.js - the synchronous engine: the saliency wasm module behind plain
 * JavaScript calls.  It runs in whatever thread loads it (the page, a Web
 * Worker, Node's main thread or a worker_threads Worker); web/index.js builds
 * the asynchronous API on top of it.
 *
 *   const engine = await createEngine({ threads: 0, variant: 'auto' });
 *   const model = engine.loadModel({ json, shards, preprocess: 'caffe' });
 *   const mask = engine.explain(model, image, { method: 'vanilla' });
 *
 * Contract additions (beyond the brief, for tests and low-level use):
 * - images may also be { width, height, channels: 3, data: Float32Array }
 *   of RGB pixels in [0, 255] (resized like RGBA photos unless they already
 *   have the model's input size), or RGB8 (Uint8 data of width*height*3);
 * - engine.forward(model, input, { batch, height, width }) and
 *   engine.backward(model, input, { batch, height, width, targets, rule,
 *   layer }) run the network on model inputs (already preprocessed, any
 *   channel count), as sal_forward / sal_backward;
 * - loadModel's preprocess defaults to 'caffe', as the native CLI's;
 * - engine.heapInUse(): bytes malloc'd inside the module right now (flat
 *   across calls once models are loaded and warmed up).
 *
 * Every wasm allocation a call makes is freed before it returns, on errors
 * and cancellation too.  Errors are Error objects carrying the C library's
 * message (and `code`, e.g. 'format'); a cancelled call throws an Error
 * named 'AbortError'.
 */

const IS_NODE = typeof process === 'object' && typeof process.versions === 'object' &&
  typeof process.versions.node === 'string';

const STATUS_CODES = ['ok', 'io', 'format', 'unsupported', 'shape', 'argument', 'memory', 'numeric', 'cancelled'];
const RELU_RULES = ['standard', 'guided', 'deconvnet'];
/* Keys of the high-level API's options that are not C options. */
const NON_C_OPTIONS = new Set(['onProgress', 'signal']);
const VARIANTS = ['simd-threads', 'simd'];
const MAX_ALLOCATION = 0xffffffff; /* size_t is 32 bits in wasm32 */

/* ------------------------------------------------------------- loading */

export async function createEngine({ threads = 0, variant = 'auto', wasmBinary, locateFile } = {}) {
  if (!Number.isInteger(threads) || threads < 0) {
    throw new Error(`threads must be a whole number >= 0 (0 = all cores), not ${threads}`);
  }
  const wanted = threads > 0 ? threads : await countCores();
  const chosen = chooseVariant(variant, wanted);
  const used = chosen === 'simd' ? 1 : wanted;
  const factory = (await importFactory(chosen)).default;
  /* Workers for the pool's threads besides the caller's.  At least one:
   * Emscripten 3.1.6 never finishes starting a threaded module whose pool
   * size comes out 0 at run time. */
  const moduleArgs = { salPoolSize: Math.max(1, used - 1) };
  if (locateFile) moduleArgs.locateFile = locateFile;
  if (wasmBinary) moduleArgs.wasmBinary = wasmBinary;
  else if (IS_NODE) moduleArgs.wasmBinary = await readPackagedFile(`saliency-${chosen}.wasm`);
  const wasm = await factory(moduleArgs);
  wasm.salUnrefWorkers();
  return new Engine(wasm, chosen, used);
}

async function countCores() {
  if (IS_NODE) {
    const os = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:os');
    return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  }
  return (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1;
}

function threadsAvailable() {
  if (typeof SharedArrayBuffer !== 'function') return false;
  return IS_NODE || globalThis.crossOriginIsolated === true;
}

function chooseVariant(variant, threads) {
  if (variant === 'auto') return threadsAvailable() && threads > 1 ? 'simd-threads' : 'simd';
  if (!VARIANTS.includes(variant)) {
    throw new Error(`unknown variant '${variant}': valid names are auto, ${VARIANTS.join(', ')}`);
  }
  if (variant === 'simd-threads' && !threadsAvailable()) {
    throw new Error("variant 'simd-threads' needs SharedArrayBuffer (Node, or a crossOriginIsolated page)");
  }
  return variant;
}

/* Literal paths, so that bundlers see and copy both modules. */
function importFactory(variant) {
  return variant === 'simd' ? import('../dist/saliency-simd.mjs') : import('../dist/saliency-simd-threads.mjs');
}

async function readPackagedFile(name) {
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
  const url = new URL(`../dist/${name}`, import.meta.url);
  try {
    return new Uint8Array(await fs.readFile(url));
  } catch (error) {
    throw new Error(`cannot read ${url.pathname} (${error.code ?? error.message}): build it with npm run build`);
  }
}

/* --------------------------------------------------------------- errors */

function makeError(message, code) {
  const error = new Error(message);
  if (code === 'cancelled') error.name = 'AbortError';
  if (code) error.code = code;
  return error;
}

function outOfMemory() {
  return makeError('out of memory', 'memory');
}

/* ---------------------------------------------------------------- scope */

/* The allocations and clean-ups of one call, undone in reverse order. */
class Scope {
  constructor(engine) {
    this.engine = engine;
    this.cleanups = [];
  }

  alloc(bytes) {
    if (bytes > MAX_ALLOCATION) {
      throw makeError(`out of memory: ${bytes} bytes do not fit in the 4 GiB a wasm module can address`, 'memory');
    }
    const ptr = this.engine.wasm._malloc(Math.max(1, bytes));
    if (!ptr) throw outOfMemory();
    this.defer(() => this.engine.wasm._free(ptr));
    return ptr;
  }

  /* Takes ownership of a pointer returned by C; NULL means the call failed. */
  own(ptr, free) {
    if (!ptr) this.engine.throwLastError();
    this.defer(() => free(ptr));
    return ptr;
  }

  /* The same for constructors that fail only when memory runs out. */
  ownNew(ptr, free) {
    if (!ptr) throw outOfMemory();
    this.defer(() => free(ptr));
    return ptr;
  }

  defer(cleanup) {
    this.cleanups.push(cleanup);
  }

  copyIn(array) {
    const bytes = array instanceof Uint8Array || array instanceof Uint8ClampedArray
      ? array : new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const ptr = this.alloc(bytes.byteLength);
    this.engine.u8().set(bytes, ptr);
    return ptr;
  }

  string(text) {
    return this.copyIn(new TextEncoder().encode(`${text}\0`));
  }

  close() {
    while (this.cleanups.length) this.cleanups.pop()();
  }
}

/* --------------------------------------------------------------- checks */

function checkSize(width, height, what) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`${what}: width and height must be positive whole numbers, not ${width} x ${height}`);
  }
}

function checkLength(data, expected, what) {
  if (!data || typeof data.length !== 'number') throw new Error(`${what}: data is missing`);
  if (data.length !== expected) throw new Error(`${what}: data holds ${data.length} values, expected ${expected}`);
}

function isByteArray(data) {
  return data instanceof Uint8Array || data instanceof Uint8ClampedArray;
}

/* Channels of a {width, height, channels?, data} map: given, or from the length. */
function mapChannels(map, what) {
  checkSize(map.width, map.height, what);
  const pixels = map.width * map.height;
  const channels = map.channels ?? (map.data ? map.data.length / pixels : 0);
  if (!Number.isInteger(channels) || channels <= 0) {
    throw new Error(`${what}: data length ${map.data?.length} does not fit ${map.width} x ${map.height}`);
  }
  checkLength(map.data, pixels * channels, what);
  return channels;
}

/* ---------------------------------------------------------------- engine */

class Engine {
  constructor(wasm, variant, threads) {
    this.wasm = wasm;
    this.variant = variant;
    this.threads = threads;
    this.err = wasm._salw_error_new();
    if (!this.err) throw outOfMemory();
    /* model object -> { ptr, numClasses, channels, ... }: sizes are read from
     * here, never from the caller's object, which the caller may change. */
    this.records = new WeakMap();
    this.live = new Set();        /* C handles not yet freed */
    this.contextHolder = 0;       /* the handle whose context (thread pool) is alive */
    this.busy = false;            /* a call is running (onProgress may try to nest one) */
    this.crash = null;            /* the wasm trap that made the engine unusable */
  }

  /* ---- memory views, made afresh: another thread may have grown memory */

  buffer() {
    return this.wasm.salMemory().buffer;
  }

  u8() {
    return new Uint8Array(this.buffer());
  }

  readFloats(ptr, count) {
    return new Float32Array(this.buffer(), ptr, count).slice();
  }

  readInts(ptr, count) {
    return new Int32Array(this.buffer(), ptr, count).slice();
  }

  readString(ptr) {
    if (!ptr) return null;
    const heap = this.u8();
    let end = ptr;
    while (heap[end]) end++;
    return new TextDecoder().decode(heap.slice(ptr, end));
  }

  /* ---- calls */

  /* Calls cannot nest (an onProgress callback must not call the engine). */
  checkIdle() {
    if (!this.wasm) throw new Error('the engine was disposed');
    if (this.crash) {
      throw new Error(`the engine stopped after an internal error (${this.crash.message}): create a new one`);
    }
    if (this.busy) throw new Error('the engine is busy: calls cannot be nested (e.g. made from onProgress)');
  }

  run(body) {
    this.checkIdle();
    const scope = new Scope(this);
    this.busy = true;
    try {
      return body(scope);
    } catch (error) {
      /* A trap leaves the module's memory (and threads) in an unknown state. */
      if (error instanceof WebAssembly.RuntimeError) this.crash = error;
      throw error;
    } finally {
      if (!this.crash) scope.close();
      this.busy = false;
    }
  }

  throwLastError() {
    const status = this.wasm._salw_error_status(this.err);
    const message = this.readString(this.wasm._salw_error_message(this.err)) || 'unknown error';
    throw makeError(message, STATUS_CODES[status] ?? 'unknown');
  }

  check(status) {
    if (status !== 0) this.throwLastError();
  }

  /* The record of a model, with its context made the live one: in the
   * threaded variant each context owns a pool of threads, and the module
   * only has workers for one pool. */
  use(model) {
    this.checkIdle();
    const record = this.records.get(model);
    if (!record || !this.live.has(record.ptr)) throw new Error('this model was freed or comes from another engine');
    if (this.threads > 1 && this.contextHolder && this.contextHolder !== record.ptr) {
      this.wasm._salw_model_release_context(this.contextHolder);
    }
    this.contextHolder = record.ptr;
    return record;
  }

  /* ---- models */

  loadModel({ json, shards = [], preprocess = 'caffe' } = {}) {
    if (typeof json !== 'string' && !ArrayBuffer.isView(json) && !(json instanceof ArrayBuffer)) {
      throw new Error('loadModel: json must be the model.json text (a string or bytes)');
    }
    if (!Array.isArray(shards)) throw new Error('loadModel: shards must be an array of { name, data }');
    const handle = this.run((scope) => {
      const jsonBytes = typeof json === 'string' ? new TextEncoder().encode(json) : toBytes(json);
      const n = shards.length;
      const names = scope.alloc(4 * n), sizes = scope.alloc(4 * n);
      /* The bytes stay here: C reads each piece as it decodes it (salw_model_load). */
      const table = shards.map((shard, i) => {
        if (!shard || typeof shard.name !== 'string') throw new Error(`loadModel: shard ${i} has no name`);
        if (!shard.data || (!ArrayBuffer.isView(shard.data) && !(shard.data instanceof ArrayBuffer))) {
          throw new Error(`loadModel: shard '${shard.name}' has no data bytes`);
        }
        const bytes = toBytes(shard.data);
        if (bytes.byteLength > MAX_ALLOCATION) {
          throw makeError(`loadModel: shard '${shard.name}' holds ${bytes.byteLength} bytes, more than a wasm ` +
            'module can address', 'memory');
        }
        const namePtr = scope.string(shard.name);
        const slots = new Uint32Array(this.buffer()); /* after the allocation, which may grow memory */
        slots[names / 4 + i] = namePtr;
        slots[sizes / 4 + i] = bytes.byteLength;
        return bytes;
      });
      const jsonPtr = scope.copyIn(jsonBytes);
      this.wasm.salShards = table;
      scope.defer(() => { this.wasm.salShards = undefined; });
      const h = this.wasm._salw_model_load(jsonPtr, jsonBytes.byteLength, names, sizes, n, this.threads, this.err);
      if (!h) this.throwLastError();
      try {
        this.setPreprocess(scope, h, preprocess);
      } catch (error) {
        this.wasm._salw_model_free(h);
        throw error;
      }
      return h;
    });
    this.live.add(handle);
    const model = this.describe(handle);
    this.records.set(model, { ...model, ptr: handle });
    return model;
  }

  setPreprocess(scope, handle, preprocess) {
    if (typeof preprocess === 'string') {
      this.check(this.wasm._salw_model_use_preset(handle, scope.string(preprocess), this.err));
      return;
    }
    if (!preprocess || typeof preprocess !== 'object') {
      throw new Error("preprocess must be a preset name ('caffe', 'tf', 'torch', 'none') or { scale, mean, std, bgr }");
    }
    const { scale = 1, mean = [0, 0, 0], std = [1, 1, 1], bgr = false } = preprocess;
    if (!Array.isArray(mean) || mean.length !== 3 || !Array.isArray(std) || std.length !== 3) {
      throw new Error('preprocess mean and std must be arrays of three numbers');
    }
    const numbers = [scale, ...mean, ...std].map(Number);
    this.check(this.wasm._salw_model_set_preprocess(handle, ...numbers, bgr ? 1 : 0, this.err));
  }

  describe(handle) {
    return this.run((scope) => {
      const info = scope.alloc(5 * 4);
      this.wasm._salw_model_info(handle, info);
      const [inputHeight, inputWidth, channels, numClasses, nLayers] = this.readInts(info, 5);
      const layers = [];
      for (let i = 0; i < nLayers; i++) layers.push(this.readString(this.wasm._salw_model_layer_name(handle, i)));
      const lastSpatialLayer = this.readString(this.wasm._salw_model_last_spatial_layer(handle));
      return { inputHeight, inputWidth, channels, numClasses, layers, lastSpatialLayer };
    });
  }

  freeModel(model) {
    const record = this.records.get(model);
    if (!record || !this.live.has(record.ptr) || !this.wasm) return;
    this.checkIdle();
    this.live.delete(record.ptr);
    this.records.delete(model);
    if (this.contextHolder === record.ptr) this.contextHolder = 0;
    this.wasm._salw_model_free(record.ptr);
  }

  /* ---- images */

  /* An image as the C side takes it: [rgba, rgb, width, height] pointers and size. */
  pixelArgs(scope, image, what = 'image') {
    if (!image || typeof image !== 'object') throw new Error(`${what} must be { width, height, data }`);
    const { width, height, data } = image;
    checkSize(width, height, what);
    const pixels = width * height;
    if (data instanceof Float32Array) {
      if ((image.channels ?? 3) !== 3) throw new Error(`${what}: float pixels must have 3 channels (RGB)`);
      checkLength(data, pixels * 3, what);
      return [0, scope.copyIn(data), width, height];
    }
    if (!isByteArray(data)) throw new Error(`${what}: data must be RGBA bytes or float RGB pixels`);
    if (data.length === pixels * 4) return [scope.copyIn(data), 0, width, height];
    checkLength(data, pixels * 3, `${what} (RGB8 or RGBA8)`);
    return [0, scope.copyIn(Float32Array.from(data)), width, height];
  }

  decodeImage(bytes) {
    if (!bytes || (!ArrayBuffer.isView(bytes) && !(bytes instanceof ArrayBuffer))) {
      throw new Error('decodeImage: expected the bytes of a PNG, JPEG, BMP or GIF file');
    }
    return this.run((scope) => {
      const input = toBytes(bytes);
      const size = scope.alloc(8);
      const rgba = scope.own(this.wasm._salw_decode_rgba(scope.copyIn(input), input.byteLength, size, this.err),
        this.wasm._free);
      const [width, height] = this.readInts(size, 2);
      const data = new Uint8ClampedArray(width * height * 4);
      data.set(new Uint8Array(this.buffer(), rgba, data.length));
      return { width, height, data };
    });
  }

  /* ---- network */

  classify(model, image, { top = 5 } = {}) {
    const { ptr, numClasses } = this.use(model);
    if (!Number.isInteger(top) || top < 1) throw new Error(`top must be a positive whole number, not ${top}`);
    const probs = this.run((scope) => {
      const out = scope.alloc(4 * numClasses);
      this.check(this.wasm._salw_classify(ptr, ...this.pixelArgs(scope, image), out, this.err));
      return this.readFloats(out, numClasses);
    });
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
    return order.slice(0, top).map((index) => ({ index, score: probs[index] }));
  }

  /* Model-input geometry of a forward/backward call. */
  inputShape(record, input, { batch = 1, height = record.inputHeight, width = record.inputWidth } = {}) {
    if (!(input instanceof Float32Array)) throw new Error('input must be a Float32Array of model inputs');
    checkSize(width, height, 'input');
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive whole number, not ${batch}`);
    checkLength(input, batch * height * width * record.channels, `input (${batch} x ${height} x ${width} x ` +
      `${record.channels})`);
    return { batch, height, width };
  }

  forward(model, input, options = {}) {
    const record = this.use(model), handle = record.ptr;
    const { batch, height, width } = this.inputShape(record, input, options);
    return this.run((scope) => {
      const count = batch * record.numClasses;
      const logits = scope.alloc(4 * count), probs = scope.alloc(4 * count);
      this.check(this.wasm._salw_forward(handle, scope.copyIn(input), batch, height, width, logits, probs,
        this.err));
      return { logits: this.readFloats(logits, count), probs: this.readFloats(probs, count) };
    });
  }

  backward(model, input, options = {}) {
    const record = this.use(model), handle = record.ptr;
    const { batch, height, width } = this.inputShape(record, input, options);
    const { targets, rule = 'standard', layer } = options;
    const ruleIndex = RELU_RULES.indexOf(rule);
    if (ruleIndex < 0) throw new Error(`unknown ReLU rule '${rule}': valid names are ${RELU_RULES.join(', ')}`);
    return this.run((scope) => {
      const classes = batch * record.numClasses, inputCount = input.length;
      let targetsPtr = 0;
      if (targets !== undefined && targets !== null) {
        checkLength(targets, batch, 'targets');
        targetsPtr = scope.copyIn(Int32Array.from(targets));
      }
      const chosen = scope.alloc(4 * batch), gradient = scope.alloc(4 * inputCount);
      const logits = scope.alloc(4 * classes);
      let layerPtr = 0, activation = 0, layerGradient = 0, layerCount = 0;
      if (layer !== undefined && layer !== null) {
        layerPtr = scope.string(layer);
        const shape = scope.alloc(16);
        this.check(this.wasm._salw_layer_shape(handle, layerPtr, height, width, shape, this.err));
        const [, h, w, c] = this.readInts(shape, 4); /* shape[0] is the batch of one */
        layerCount = batch * h * w * c;
        activation = scope.alloc(4 * layerCount);
        layerGradient = scope.alloc(4 * layerCount);
      }
      this.check(this.wasm._salw_backward(handle, scope.copyIn(input), batch, height, width, targetsPtr, chosen,
        ruleIndex, layerPtr, gradient, logits, activation, layerGradient, this.err));
      const result = {
        inputGradient: this.readFloats(gradient, inputCount),
        logits: this.readFloats(logits, classes),
        targets: this.readInts(chosen, batch),
      };
      if (layerPtr) {
        result.layerActivation = this.readFloats(activation, layerCount);
        result.layerGradient = this.readFloats(layerGradient, layerCount);
      }
      return result;
    });
  }

  /* ---- explanations */

  explain(model, image, options = {}, onProgress) {
    const handle = this.use(model).ptr;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new Error('onProgress must be a function');
    return this.run((scope) => {
      const opts = scope.ownNew(this.wasm._salw_options_new(), this.wasm._salw_options_free);
      this.setOptions(scope, opts, handle, options);
      const out = scope.ownNew(this.wasm._salw_explanation_new(), this.wasm._salw_explanation_free);
      const pixels = this.pixelArgs(scope, image);
      let thrown = null;
      if (onProgress) {
        this.wasm.salProgress = (fraction) => {
          try {
            return Boolean(onProgress(fraction));
          } catch (error) { /* stop the C call cleanly, rethrow below */
            thrown = error;
            return true;
          }
        };
        scope.defer(() => { this.wasm.salProgress = undefined; });
      }
      const status = this.wasm._salw_explain(handle, ...pixels, opts, onProgress ? 1 : 0, out, this.err);
      if (thrown) throw thrown;
      this.check(status);
      return this.readExplanation(scope, out);
    });
  }

  setOptions(scope, opts, handle, options) {
    if (!options || typeof options !== 'object') throw new Error('explain options must be an object');
    for (const [key, value] of Object.entries(options)) {
      if (value === undefined || value === null || NON_C_OPTIONS.has(key)) continue;
      const keyPtr = scope.string(key);
      if (typeof value === 'number') {
        this.check(this.wasm._salw_options_set_number(opts, keyPtr, value, this.err));
      } else if (typeof value === 'string') {
        this.check(this.wasm._salw_options_set_text(opts, keyPtr, scope.string(value), this.err));
      } else if (key === 'baseline' && typeof value === 'object') {
        const pixels = this.pixelArgs(scope, value, 'baseline image');
        this.check(this.wasm._salw_options_set_baseline_image(opts, handle, ...pixels, this.err));
      } else {
        throw new Error(`explain option '${key}' must be a number or a string, not ${typeof value}`);
      }
    }
  }

  readExplanation(scope, out) {
    const header = scope.alloc(13 * 8);
    this.wasm._salw_explanation_header(out, header);
    const [height, width, channels, data, target, score, hasCompleteness, scoreDifference, completenessGap,
      lowHeight, lowWidth, lowData, regionRank] = new Float64Array(this.buffer(), header, 13);
    const result = { width, height, channels, data: this.readFloats(data, width * height * channels), target, score };
    if (hasCompleteness) Object.assign(result, { scoreDifference, completenessGap });
    if (lowData) {
      result.lowRes = { width: lowWidth, height: lowHeight, data: this.readFloats(lowData, lowWidth * lowHeight) };
    }
    if (regionRank) result.regionRank = this.readInts(regionRank, width * height);
    return result;
  }

  /* ---- visualization */

  visualizeGrayscale(mask, percentile = 99) {
    return this.visualize(this.wasm._sal_visualize_grayscale, mask, percentile);
  }

  visualizeDiverging(mask, percentile = 99) {
    return this.visualize(this.wasm._sal_visualize_diverging, mask, percentile);
  }

  visualize(fn, mask, percentile) {
    const channels = mapChannels(mask, 'mask');
    const { width, height } = mask;
    return this.run((scope) => {
      const out = scope.alloc(4 * width * height);
      this.check(fn(scope.copyIn(Float32Array.from(mask.data)), height, width, channels, percentile, out, this.err));
      return { width, height, data: this.readFloats(out, width * height) };
    });
  }

  colorize(map, { colormap = 'inferno', overlay, alpha = 0.5 } = {}) {
    if (mapChannels(map, 'map') !== 1) throw new Error('colorize: the map must have one channel');
    const { width, height } = map;
    return this.run((scope) => {
      const index = this.wasm._sal_colormap_from_name(scope.string(colormap));
      if (index < 0) {
        throw new Error(`unknown colormap '${colormap}': valid names are gray, inferno, viridis, jet, diverging`);
      }
      let photo = 0;
      if (overlay) {
        checkSize(overlay.width, overlay.height, 'overlay');
        if (overlay.width !== width || overlay.height !== height || !isByteArray(overlay.data)) {
          throw new Error(`overlay must be an RGBA image of the map's size (${width} x ${height})`);
        }
        checkLength(overlay.data, width * height * 4, 'overlay');
        photo = scope.copyIn(overlay.data);
      }
      const out = scope.alloc(4 * width * height);
      this.check(this.wasm._sal_colorize(scope.copyIn(Float32Array.from(map.data)), height, width, index, photo,
        alpha, out, this.err));
      const data = new Uint8ClampedArray(width * height * 4);
      data.set(new Uint8Array(this.buffer(), out, data.length));
      return { width, height, data };
    });
  }

  resizeMap(map, width, height) {
    const channels = mapChannels(map, 'map');
    checkSize(width, height, 'resizeMap');
    return this.run((scope) => {
      const count = width * height * channels;
      const out = scope.alloc(4 * count);
      this.check(this.wasm._sal_resize_map(scope.copyIn(Float32Array.from(map.data)), map.height, map.width,
        channels, height, width, out, this.err));
      const result = { width, height, data: this.readFloats(out, count) };
      if (map.channels !== undefined) result.channels = channels;
      return result;
    });
  }

  xraiTopMask(explanation, percent) {
    const { width, height, regionRank } = explanation ?? {};
    if (!(regionRank instanceof Int32Array)) throw new Error('xraiTopMask needs an XRAI explanation (regionRank)');
    checkSize(width, height, 'explanation');
    checkLength(regionRank, width * height, 'regionRank');
    return this.run((scope) => {
      const out = scope.alloc(4 * width * height);
      this.check(this.wasm._sal_xrai_top_mask(scope.copyIn(regionRank), height, width, percent, out, this.err));
      return { width, height, data: this.readFloats(out, width * height) };
    });
  }

  encodePNG({ width, height, data } = {}) {
    checkSize(width, height, 'encodePNG');
    if (!isByteArray(data)) throw new Error('encodePNG: data must be RGBA bytes');
    checkLength(data, width * height * 4, 'encodePNG (RGBA8)');
    return this.run((scope) => {
      const result = scope.alloc(8); /* uint8_t *png; size_t size (wasm32: 4 bytes each) */
      this.check(this.wasm._sal_png_encode_rgba(scope.copyIn(data), width, height, result, result + 4, this.err));
      const [png, size] = new Uint32Array(this.buffer(), result, 2);
      scope.defer(() => this.wasm._free(png));
      return new Uint8Array(this.buffer(), png, size).slice();
    });
  }

  /* ---- housekeeping */

  heapBytes() {
    return this.buffer().byteLength;
  }

  /* Bytes allocated inside the module right now (models, contexts, ...). */
  heapInUse() {
    return this.wasm._salw_heap_in_use() >>> 0;
  }

  dispose() {
    if (!this.wasm) return;
    if (this.busy) throw new Error('the engine is busy: it cannot be disposed from onProgress');
    if (!this.crash) { /* after a trap, memory is not to be trusted: just drop it */
      for (const handle of this.live) this.wasm._salw_model_free(handle);
      this.wasm._free(this.err);
    }
    this.live.clear();
    this.wasm.salTerminateWorkers();
    this.wasm = null;
  }
}

function toBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
