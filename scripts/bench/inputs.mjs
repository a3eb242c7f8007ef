// inputs.mjs - the benchmark's input, identical in Node and in the page: the
// photo decoded and resized by our engine (shorter side to the model's size,
// centre crop), then preprocessed here in plain JS so that every library is
// handed the very same Float32Array.

const PRESETS = {
  caffe: { bgr: true, scale: 1, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  tf: { bgr: false, scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
};

export function preprocessPreset(name) {
  const preset = PRESETS[name];
  if (!preset) throw new Error(`bench: unknown preprocessing '${name}' (caffe or tf)`);
  return preset;
}

/* RGB pixels in [0, 255] (Float32, height x width x 3) of the photo, resized
 * and centre-cropped to width x height. */
export function photoPixels(engine, photoBytes, width, height) {
  const rgba = engine.decodeImage(photoBytes);
  const rgb = new Float32Array(rgba.width * rgba.height * 3);
  for (let p = 0; p < rgba.width * rgba.height; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba.data[p * 4 + c];
  }
  const scale = Math.max(width / rgba.width, height / rgba.height);
  const rw = Math.max(width, Math.round(rgba.width * scale));
  const rh = Math.max(height, Math.round(rgba.height * scale));
  const resized = engine.resizeMap({ width: rgba.width, height: rgba.height, channels: 3, data: rgb }, rw, rh);
  const x0 = (rw - width) >> 1, y0 = (rh - height) >> 1;
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    data.set(resized.data.subarray(((y + y0) * rw + x0) * 3, ((y + y0) * rw + x0 + width) * 3), y * width * 3);
  }
  return { width, height, channels: 3, data };
}

/* out = (pixel * scale - mean) / std, channels reversed first for caffe. */
export function preprocess(pixels, presetName) {
  const { bgr, scale, mean, std } = preprocessPreset(presetName);
  const out = new Float32Array(pixels.data.length);
  for (let i = 0; i < out.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const value = pixels.data[i + (bgr ? 2 - c : c)];
      out[i + c] = (value * scale - mean[c]) / std[c];
    }
  }
  return out;
}

/* Pixels, preprocessed input and the black baseline (preprocessed), made by a
 * throwaway single-thread engine so that every runner gets the same arrays. */
export async function prepareInputs(createEngine, source, photoBytes) {
  const engine = await createEngine({ variant: 'simd', threads: 1 });
  try {
    const model = engine.loadModel(source);
    const pixels = photoPixels(engine, photoBytes, model.inputWidth, model.inputHeight);
    const black = { ...pixels, data: new Float32Array(pixels.data.length) };
    return { pixels, input: preprocess(pixels, source.preprocess), baseline: preprocess(black, source.preprocess),
      shape: [model.inputHeight, model.inputWidth, model.channels] };
  } finally {
    engine.dispose();
  }
}
