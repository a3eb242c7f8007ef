// canvas.js - RGBA pixels out to the page: an HTMLCanvasElement where there is
// a document, an OffscreenCanvas in a worker, and in Node an ImageData-like
// { width, height, data: Uint8ClampedArray } (there is no canvas there).

function makeCanvas(width, height) {
  if (typeof document !== 'undefined' && typeof document.createElement === 'function') {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    return canvas;
  }
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(width, height);
  return null;
}

// RGBA8 { width, height, data } -> a canvas (browsers) or the same pixels (Node).
export function rgbaToCanvas({ width, height, data }) {
  const canvas = makeCanvas(width, height);
  if (!canvas) return { width, height, data };
  const context = canvas.getContext('2d');
  context.putImageData(new ImageData(new Uint8ClampedArray(data), width, height), 0, 0);
  return canvas;
}
