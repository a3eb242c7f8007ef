// resize.js - a photo scaled to cover width x height and centre-cropped, as
// the library does to fit photos to the model's input (sal_image_resize_crop
// in src/image/image.c): separable triangle filter at half-pixel centres,
// stretched when shrinking so that every input pixel counts (antialiasing,
// as PIL does).  Used to lay the photo under a heatmap of the model's size.

function triangle(x) {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

// Weights along one axis for outputs [offset, offset + n) of in_size -> resized.
function axisFilter(inSize, resizedSize, offset, n) {
  const scale = inSize / resizedSize;
  const support = scale >= 1 ? scale : 1;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const taps = [];
  for (let i = 0; i < n; i++) {
    const center = (offset + i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let total = 0;
    for (let x = lo; x < hi; x++) total += triangle((x - center + 0.5) * invScale);
    const weights = new Float32Array(Math.max(0, hi - lo));
    for (let x = lo; x < hi; x++) weights[x - lo] = total > 0 ? triangle((x - center + 0.5) * invScale) / total : 0;
    taps.push({ first: lo, weights });
  }
  return taps;
}

function coveringSize(inSize, scale, target) {
  const size = Math.round(inSize * scale); // sizes are positive: half away from zero = Math.round
  return size < target ? target : size;
}

// The part of an inWidth x inHeight photo that resizeCrop keeps for width x
// height, in the photo's pixels (ends rounded), as sal_image_crop_rect.
export function cropRect(inWidth, inHeight, width, height) {
  const { resizedWidth, resizedHeight } = coveringSizes(inWidth, inHeight, width, height);
  const span = (inSize, resizedSize, size) => {
    const offset = centreOffset(resizedSize, size);
    const first = Math.round(offset * (inSize / resizedSize));
    return [first, Math.round((offset + size) * (inSize / resizedSize)) - first];
  };
  const [x, cropWidth] = span(inWidth, resizedWidth, width);
  const [y, cropHeight] = span(inHeight, resizedHeight, height);
  return { x, y, width: cropWidth, height: cropHeight };
}

// Both sides after scaling by the one factor that makes the photo cover width x height.
function coveringSizes(inWidth, inHeight, width, height) {
  const scale = Math.max(width / inWidth, height / inHeight);
  return { resizedWidth: coveringSize(inWidth, scale, width), resizedHeight: coveringSize(inHeight, scale, height) };
}

const centreOffset = (resizedSize, size) => Math.trunc((resizedSize - size) / 2);

// pixels: { width, height, data } RGBA8, or { channels: 3, data: Float32Array }.
// Returns RGBA8 { width, height, data: Uint8ClampedArray }.
export function resizeCrop(pixels, width, height) {
  const stride = pixels.channels === 3 ? 3 : 4;
  const { resizedWidth, resizedHeight } = coveringSizes(pixels.width, pixels.height, width, height);
  const fx = axisFilter(pixels.width, resizedWidth, centreOffset(resizedWidth, width), width);
  const fy = axisFilter(pixels.height, resizedHeight, centreOffset(resizedHeight, height), height);
  const f32 = Math.fround;
  const out = new Uint8ClampedArray(width * height * 4);
  const row = new Float32Array(pixels.width * 3);
  for (let y = 0; y < height; y++) {
    row.fill(0);
    const { first, weights } = fy[y];
    for (let k = 0; k < weights.length; k++) {
      const base = (first + k) * pixels.width * stride;
      for (let x = 0; x < pixels.width; x++) {
        for (let c = 0; c < 3; c++) {
          row[3 * x + c] = f32(row[3 * x + c] + f32(weights[k] * pixels.data[base + stride * x + c]));
        }
      }
    }
    for (let x = 0; x < width; x++) {
      const tap = fx[x];
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = 0; k < tap.weights.length; k++) {
          sum = f32(sum + f32(tap.weights[k] * row[3 * (tap.first + k) + c]));
        }
        out[4 * (y * width + x) + c] = sum <= 0 ? 0 : sum >= 255 ? 255 : Math.trunc(f32(sum + 0.5));
      }
      out[4 * (y * width + x) + 3] = 255;
    }
  }
  return { width, height, data: out };
}
