// host.js - runs requests on a synchronous engine (web/engine.js), in
// whichever thread holds it: the Web Worker / worker_threads Worker
// (web/worker.js), or the calling thread when a session runs without a worker.
// Requests name models by number; the host keeps the engine's model objects.

// Progress reports are thinned out to at most one per PROGRESS_STEP of the
// work (plus the last), which keeps the messages from a worker few.
const PROGRESS_STEP = 0.005;

export function createHost(engine) {
  const models = new Map();

  function modelOf(id) {
    const model = models.get(id);
    if (!model) throw new Error(`model ${id} is not loaded (it was freed, or the session was restarted without it)`);
    return model;
  }

  function pixels(image) {
    return image && image.encoded ? engine.decodeImage(image.encoded) : image;
  }

  function withPixelBaseline(options) {
    const baseline = options.baseline;
    if (!baseline || typeof baseline !== 'object') return options;
    return { ...options, baseline: pixels(baseline) };
  }

  const ops = {
    info: () => ({ variant: engine.variant, threads: engine.threads }),
    loadModel({ id, json, shards, preprocess }) {
      if (models.has(id)) throw new Error(`model ${id} is already loaded`);
      const model = engine.loadModel({ json, shards, preprocess });
      models.set(id, model);
      return describeModel(model);
    },
    freeModel({ id }) {
      const model = models.get(id);
      if (model) engine.freeModel(model);
      models.delete(id);
      return true;
    },
    decodeImage: ({ image }) => pixels(image),
    classify: ({ model, image, top }) => engine.classify(modelOf(model), pixels(image), { top }),
    explain: ({ model, image, options }, progress) =>
      engine.explain(modelOf(model), pixels(image), withPixelBaseline(options), progress),
    visualizeGrayscale: ({ mask, percentile }) => engine.visualizeGrayscale(mask, percentile),
    visualizeDiverging: ({ mask, percentile }) => engine.visualizeDiverging(mask, percentile),
    colorize: ({ map, options }) => engine.colorize(map, { ...options, overlay: pixels(options.overlay) }),
    resizeMap: ({ map, width, height }) => engine.resizeMap(map, width, height),
    xraiTopMask: ({ explanation, percent }) => engine.xraiTopMask(explanation, percent),
    encodePNG: ({ image }) => engine.encodePNG(pixels(image)),
    heapBytes: () => engine.heapBytes(),
  };

  return {
    // progress: optional { report(fraction), cancelled() -> boolean }.
    run(op, args, progress) {
      const handler = ops[op];
      if (!handler) throw new Error(`unknown request '${op}'`);
      return handler(args ?? {}, progress && engineProgress(progress));
    },
    dispose() {
      for (const model of models.values()) engine.freeModel(model);
      models.clear();
      engine.dispose();
    },
  };
}

function engineProgress({ report, cancelled }) {
  let last = -1;
  return (fraction) => {
    if (report && (fraction - last >= PROGRESS_STEP || fraction >= 1)) {
      last = fraction;
      report(fraction);
    }
    return cancelled ? cancelled() : false;
  };
}

function describeModel(model) {
  const { inputHeight, inputWidth, channels, numClasses, layers, lastSpatialLayer } = model;
  return { inputHeight, inputWidth, channels, numClasses, layers: [...layers], lastSpatialLayer };
}

// Buffers of a result that can move to the other thread instead of being copied.
export function transferList(result) {
  const list = [];
  const visit = (value, depth) => {
    if (!value || typeof value !== 'object' || depth > 2) return;
    if (ArrayBuffer.isView(value)) {
      // Only buffers the value has to itself: never a view into the wasm memory.
      const own = value.buffer instanceof ArrayBuffer && value.byteLength === value.buffer.byteLength;
      if (own && !list.includes(value.buffer)) list.push(value.buffer);
      return;
    }
    for (const key of Object.keys(value)) visit(value[key], depth + 1);
  };
  visit(result, 0);
  return list;
}
