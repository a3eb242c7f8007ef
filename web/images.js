// images.js - every kind of picture the API takes, turned into one of the
// three forms the engine reads:
//   { width, height, data: Uint8ClampedArray }            RGBA8 pixels
//   { width, height, channels: 3, data: Float32Array }   RGB pixels in [0, 255]
//   { encoded: Uint8Array }                              a PNG/JPEG/... file, decoded by
//                                                        the engine (stb_image in wasm)
// Browsers: ImageData, HTMLImageElement, HTMLCanvasElement, HTMLVideoElement,
// ImageBitmap, OffscreenCanvas, VideoFrame, Blob/File, a URL.  Node: a file
// path, a Buffer/Uint8Array/ArrayBuffer holding an encoded image,
// { data, width, height } with RGB or RGBA pixels.

import { fetchOk, locate, readFileBytes } from './models.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

function describe(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}

function checkSize(width, height, what) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new TypeError(`${what}: width and height must be positive whole numbers (got ${width} x ${height})`);
  }
}

function isTypedArray(value) {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

// A copy the engine may take over (Buffer.slice would share the memory).
function copyBytes(value) {
  return new Uint8Array(asBytes(value));
}

function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  const shared = typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer;
  if (value instanceof ArrayBuffer || shared) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

// { data, width, height [, channels] } with RGBA or RGB pixels, 8-bit or float.
export function pixelsToInput({ data, width, height, channels }, what = 'image') {
  checkSize(width, height, what);
  const pixels = width * height;
  if (!isTypedArray(data) && !Array.isArray(data)) {
    throw new TypeError(`${what}: data must be a typed array of pixels (got ${describe(data)})`);
  }
  const found = channels ?? data.length / pixels;
  if (found !== 3 && found !== 4) {
    throw new TypeError(`${what}: ${data.length} values for ${width} x ${height} pixels: expected RGB (3 per pixel) ` +
      'or RGBA (4 per pixel)');
  }
  if (data.length !== pixels * found) {
    throw new TypeError(`${what}: ${data.length} values, expected ${pixels * found} (${width} x ${height} x ${found})`);
  }
  const isFloat = data instanceof Float32Array || data instanceof Float64Array || Array.isArray(data);
  if (isFloat) return floatPixels(data, width, height, found, what);
  if (found === 4) return { width, height, data: new Uint8ClampedArray(asBytes(data)) };
  const rgba = new Uint8ClampedArray(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    rgba[4 * i] = data[3 * i];
    rgba[4 * i + 1] = data[3 * i + 1];
    rgba[4 * i + 2] = data[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return { width, height, data: rgba };
}

// Float pixels keep their precision: the engine's float path (RGB in [0, 255]).
function floatPixels(data, width, height, channels, what) {
  const pixels = width * height;
  const rgb = new Float32Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[channels * i + c];
      if (!Number.isFinite(v)) throw new RangeError(`${what}: pixel ${i} holds ${v}; pixels must be finite numbers`);
      rgb[3 * i + c] = v;
    }
  }
  return { width, height, channels: 3, data: rgb };
}

// Draws a browser image source onto a canvas and reads its pixels back.
function drawToPixels(source, width, height) {
  checkSize(width, height, describe(source));
  let canvas;
  if (typeof OffscreenCanvas !== 'undefined') canvas = new OffscreenCanvas(width, height);
  else if (typeof document !== 'undefined') {
    canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
  } else {
    throw new TypeError(`${describe(source)} images need a canvas, which this environment lacks`);
  }
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  const { data } = context.getImageData(0, 0, width, height);
  return { width, height, data };
}

function isInstance(value, name) {
  const type = globalThis[name];
  return typeof type === 'function' && value instanceof type;
}

// Synchronous conversions: what needs no loading or decoding.
export function imageToPixelsSync(image, what = 'image') {
  if (image == null) throw new TypeError(`${what} is missing`);
  if (isInstance(image, 'HTMLCanvasElement') || isInstance(image, 'OffscreenCanvas') ||
      isInstance(image, 'ImageBitmap')) {
    return drawToPixels(image, image.width, image.height);
  }
  if (isInstance(image, 'HTMLImageElement')) {
    if (!image.complete || !image.naturalWidth) throw new TypeError(`${what}: the <img> has not loaded yet`);
    return drawToPixels(image, image.naturalWidth, image.naturalHeight);
  }
  if (isInstance(image, 'HTMLVideoElement')) return drawToPixels(image, image.videoWidth, image.videoHeight);
  if (isInstance(image, 'VideoFrame')) return drawToPixels(image, image.displayWidth, image.displayHeight);
  if (typeof image === 'object' && 'data' in image && 'width' in image && 'height' in image) {
    return pixelsToInput(image, what);
  }
  throw new TypeError(`${what}: cannot read pixels from ${describe(image)} (use ImageData, a canvas, an ImageBitmap, ` +
    'an <img>, or { data, width, height })');
}

async function readBlob(blob, what) {
  if (!isNode && typeof createImageBitmap === 'function') {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob);
    } catch (error) {
      throw new Error(`${what}: the browser could not decode this ${blob.type || 'file'}: ${error.message}`);
    }
    try {
      return drawToPixels(bitmap, bitmap.width, bitmap.height);
    } finally {
      bitmap.close?.();
    }
  }
  return { encoded: new Uint8Array(await blob.arrayBuffer()) };
}

// A path or URL's bytes, or an Error naming the image and the problem.
async function readImageAt(where, what, signal) {
  const { path, url } = await locate(where);
  let blob;
  try {
    if (path) return { encoded: await readFileBytes(path) };
    blob = await (await fetchOk(url, signal)).blob();
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new Error(`${what}: ${error.message}`);
  }
  return readBlob(blob, what);
}

// Any supported image -> one of the engine's three forms (see the top).
export async function imageToInput(image, { what = 'image', signal } = {}) {
  if (image instanceof URL || typeof image === 'string') return readImageAt(image, what, signal);
  if (isInstance(image, 'Blob')) return readBlob(image, what);
  if (image instanceof ArrayBuffer || (isTypedArray(image) && !('width' in image))) {
    const bytes = asBytes(image);
    if (bytes.length === 0) throw new TypeError(`${what}: the image buffer is empty`);
    return { encoded: copyBytes(bytes) };
  }
  if (isInstance(image, 'HTMLImageElement') && !(image.complete && image.naturalWidth)) {
    await image.decode().catch(() => { throw new Error(`${what}: the <img> (${image.src}) failed to load`); });
  }
  if (image && typeof image === 'object' && 'encoded' in image) return { encoded: copyBytes(image.encoded) };
  return imageToPixelsSync(image, what);
}

// The worker receives images by structured clone; these are the buffers it may take over.
export function imageTransferList(input) {
  if (!input) return [];
  const data = input.encoded ?? input.data;
  return data?.buffer instanceof ArrayBuffer ? [data.buffer] : [];
}
