// render.js - explanations onto the page's canvases, and PNG downloads, with
// the library's visualization helpers.
import { toCanvas, toPNG, visualizeImageDiverging, visualizeImageGrayscale } from '../web/index.js';

// Copies a picture (a canvas from toCanvas, or RGBA pixels) into a canvas of the page.
export function paint(canvas, picture) {
  canvas.width = picture.width;
  canvas.height = picture.height;
  const context = canvas.getContext('2d');
  if (typeof picture.getContext === 'function') context.drawImage(picture, 0, 0);
  else context.putImageData(new ImageData(new Uint8ClampedArray(picture.data), picture.width, picture.height), 0, 0);
}

export function clear(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

// The maps of one explanation, ready to colour.
export function mapsOf(mask) {
  return { grayscale: visualizeImageGrayscale(mask), diverging: visualizeImageDiverging(mask) };
}

export function drawGrayscale(canvas, maps) {
  paint(canvas, toCanvas(maps.grayscale, { colormap: 'gray' }));
}

export function drawDiverging(canvas, maps) {
  paint(canvas, toCanvas(maps.diverging, { colormap: 'diverging' }));
}

// photo: RGBA pixels of the map's size (the model's input).
export function drawOverlay(canvas, maps, { photo, colormap, alpha }) {
  const map = colormap === 'diverging' ? maps.diverging : maps.grayscale;
  paint(canvas, toCanvas(map, { colormap, overlay: photo, alpha }));
}

// Saves a canvas as NAME.png through a temporary <a download>.
export async function downloadPNG(canvas, name) {
  const bytes = await toPNG(canvas);
  const url = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${name}.png`;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
