// visualize.js - the saliency pictures in plain JavaScript, computed in
// float32 step by step as the C library does (src/visualization/), so that
// they give the same numbers as the wasm build without a round trip to it.
//
//   visualizeImageGrayscale(mask, p): s = sum_c |mask|, (s - min s) / (P_p(s) - min s), clipped to [0, 1]
//   visualizeImageDiverging(mask, p): s = sum_c mask,  s / P_p(|s|), clipped to [-1, 1] (zero stays zero)
//   colorizeMap(map, { colormap, overlay, alpha }): RGBA8, blended as alpha * colour + (1 - alpha) * photo
// P_p is NumPy's default ('linear') percentile.  The names and meaning of the
// first two are those of PAIR's saliency library.
import { inferno, viridis, jet } from './colormap_tables.js';

const f32 = Math.fround;

export const COLORMAPS = ['gray', 'inferno', 'viridis', 'jet', 'diverging'];

function maskShape(mask, what) {
  if (!mask || typeof mask !== 'object' || !mask.data) {
    throw new TypeError(`${what}: expected a mask { width, height, data }`);
  }
  const { width, height } = mask;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new TypeError(`${what}: mask size ${width} x ${height} is not a positive whole size`);
  }
  const channels = mask.channels ?? mask.data.length / (width * height);
  if (!Number.isInteger(channels) || channels <= 0 || mask.data.length !== width * height * channels) {
    throw new TypeError(`${what}: ${mask.data.length} values do not fill ${width} x ${height} pixels`);
  }
  return { width, height, channels };
}

function checkPercentile(percentile, what) {
  if (typeof percentile !== 'number' || !(percentile >= 0 && percentile <= 100)) {
    throw new RangeError(`${what}: percentile ${percentile} is not in [0, 100]`);
  }
}

// NumPy's 'linear' percentile, with the C library's interpolation formula.
export function percentileLinear(values, p) {
  const sorted = Float32Array.from(values).sort();
  const n = sorted.length;
  const rank = (p / 100) * (n - 1);
  const below = Math.floor(rank);
  if (below >= n - 1) return sorted[n - 1];
  const t = rank - below;
  const a = sorted[below];
  const b = sorted[below + 1];
  return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
}

function sumChannels(mask, shape, absolute, what) {
  const pixels = shape.width * shape.height;
  const out = new Float32Array(pixels);
  const { data } = mask;
  for (let i = 0; i < pixels; i++) {
    let sum = 0;
    for (let c = 0; c < shape.channels; c++) {
      const v = data[i * shape.channels + c];
      sum = f32(sum + (absolute ? Math.abs(v) : v));
    }
    if (!Number.isFinite(sum)) throw new RangeError(`${what}: mask pixel ${i} is NaN or infinite`);
    out[i] = sum;
  }
  return out;
}

export function visualizeImageGrayscale(mask, percentile = 99) {
  const what = 'visualizeImageGrayscale';
  const shape = maskShape(mask, what);
  checkPercentile(percentile, what);
  const out = sumChannels(mask, shape, true, what);
  const vmax = f32(percentileLinear(out, f32(percentile)));
  let vmin = out[0];
  for (const v of out) if (v < vmin) vmin = v;
  const range = f32(vmax - vmin);
  for (let i = 0; i < out.length; i++) {
    const v = range > 0 ? f32(f32(out[i] - vmin) / range) : 0;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { width: shape.width, height: shape.height, data: out };
}

export function visualizeImageDiverging(mask, percentile = 99) {
  const what = 'visualizeImageDiverging';
  const shape = maskShape(mask, what);
  checkPercentile(percentile, what);
  const out = sumChannels(mask, shape, false, what);
  const span = f32(percentileLinear(out.map(Math.abs), f32(percentile)));
  for (let i = 0; i < out.length; i++) {
    const v = span > 0 ? f32(out[i] / span) : 0;
    out[i] = v < -1 ? -1 : v > 1 ? 1 : v;
  }
  return { width: shape.width, height: shape.height, data: out };
}

// A map ready for colouring: masks with channels become the grayscale picture
// (the diverging one for the diverging colormap); one-channel maps that are
// never negative (Grad-CAM, XRAI) are divided by their maximum, as the CLI does.
export function displayMap(map, { colormap = 'inferno', percentile = 99 } = {}) {
  const shape = maskShape(map, 'displayMap');
  if (shape.channels > 1) {
    const picture = colormap === 'diverging' ? visualizeImageDiverging : visualizeImageGrayscale;
    return picture(map, percentile);
  }
  if (map.channels === undefined) return { width: shape.width, height: shape.height, data: map.data };
  return normalizeByMax(map, shape);
}

function normalizeByMax(map, shape) {
  let max = 0;
  for (const v of map.data) if (v > max) max = v;
  const data = new Float32Array(map.data.length);
  if (max > 0) {
    for (let i = 0; i < data.length; i++) data[i] = clamp(f32(map.data[i] / max), 0, 1);
  }
  return { width: shape.width, height: shape.height, data };
}

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

const TABLES = { inferno, viridis, jet };

function colourOf(colormap, v, rgb) {
  const table = TABLES[colormap];
  if (table) {
    const position = f32(clamp(v, 0, 1) * 255);
    const below = Math.min(Math.trunc(position), 254);
    const f = f32(position - below);
    const g = f32(1 - f);
    for (let c = 0; c < 3; c++) rgb[c] = f32(f32(table[3 * below + c] * g) + f32(table[3 * below + 3 + c] * f));
  } else if (colormap === 'diverging') {
    const d = clamp(v, -1, 1);
    if (d < 0) {
      rgb[0] = rgb[1] = f32(1 + d);
      rgb[2] = 1;
    } else {
      rgb[0] = 1;
      rgb[1] = rgb[2] = f32(1 - d);
    }
  } else {
    rgb[0] = rgb[1] = rgb[2] = clamp(v, 0, 1);
  }
}

function toByte(v) {
  return Math.floor(f32(clamp(v, 0, 255) + 0.5));
}

// Colours a 2-D map { width, height, data } into RGBA8, optionally over a photo
// (RGBA8 { width, height, data } of the same size).
export function colorizeMap(map, { colormap = 'inferno', overlay, alpha = 0.5 } = {}) {
  const what = 'colorize';
  const { width, height, channels } = maskShape(map, what);
  if (channels !== 1) throw new TypeError(`${what}: the map has ${channels} channels; colour a 2-D map`);
  if (!COLORMAPS.includes(colormap)) {
    throw new RangeError(`${what}: unknown colormap '${colormap}' (${COLORMAPS.join(', ')})`);
  }
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`${what}: alpha ${alpha} is not in [0, 1]`);
  }
  if (overlay && (overlay.width !== width || overlay.height !== height || overlay.data.length !== width * height * 4)) {
    throw new RangeError(`${what}: the overlay is ${overlay.width} x ${overlay.height}, ` +
      `the map ${width} x ${height}; ` +
      'they must be the same size (resize one of them first)');
  }
  const a = f32(alpha);
  const rest = f32(1 - a);
  const out = new Uint8ClampedArray(width * height * 4);
  const rgb = new Float32Array(3);
  for (let i = 0; i < width * height; i++) {
    const v = map.data[i];
    if (Number.isNaN(v)) throw new RangeError(`${what}: map pixel ${i} is NaN`);
    colourOf(colormap, f32(v), rgb);
    for (let c = 0; c < 3; c++) {
      const colour = f32(255 * rgb[c]);
      const blended = overlay ? f32(f32(a * colour) + f32(rest * overlay.data[4 * i + c])) : colour;
      out[4 * i + c] = toByte(blended);
    }
    out[4 * i + 3] = 255;
  }
  return { width, height, data: out };
}
