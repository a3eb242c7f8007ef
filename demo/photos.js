// photos.js - the sample photos, and turning any image the user gives
// (a sample, an uploaded or dropped file, a pasted picture) into RGBA pixels.

export const PHOTOS = [
  { file: 'cat.jpg', alt: 'A tabby cat lying on a blanket' },
  { file: 'coffee.jpg', alt: 'A white mug on a wooden table' },
  { file: 'chelsea.png', alt: 'Close-up of a tabby cat’s face' },
  { file: 'coffee.png', alt: 'A cup of coffee on a red saucer' },
  { file: 'astronaut.png', alt: 'An astronaut in an orange flight suit' },
];

export function photoUrl(file) {
  return new URL(`../assets/photos/${file}`, import.meta.url).href;
}

// One gallery button per sample photo, with its thumbnail.
export function fillGallery(gallery, onChoose) {
  for (const { file, alt } of PHOTOS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'thumb';
    button.dataset.photo = file;
    button.disabled = true;
    button.title = file;
    const image = document.createElement('img');
    image.src = photoUrl(file);
    image.alt = alt;
    image.width = 96;
    image.height = 96;
    image.decoding = 'async';
    button.append(image);
    button.addEventListener('click', () => onChoose(file));
    gallery.append(button);
  }
}

function canvasOfSize(width, height) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

// A Blob/File holding an encoded image -> ImageData (the file's own colours,
// without colour-profile conversion, as the native tool reads them).
export async function pixelsOfBlob(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none' });
  } catch (error) {
    const kind = blob.type || 'file';
    throw new Error(`${name}: this browser cannot read the ${kind} as an image (${error.message})`);
  }
  try {
    const canvas = canvasOfSize(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    return context.getImageData(0, 0, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

export async function pixelsOfUrl(url, name) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${name}: could not fetch it (${error.message})`);
  }
  if (!response.ok) throw new Error(`${name}: fetching it failed (HTTP ${response.status})`);
  return pixelsOfBlob(await response.blob(), name);
}

// The first image among dropped or pasted items, or null.
export function imageFileOf(dataTransfer) {
  const files = [...(dataTransfer?.files ?? [])];
  return files.find((file) => file.type.startsWith('image/')) ?? files[0] ?? null;
}

// A file name without its extension, for naming downloads.
export function stemOf(name) {
  const base = name.replace(/^.*[\\/]/, '');
  const dot = base.lastIndexOf('.');
  return (dot > 0 ? base.slice(0, dot) : base) || 'image';
}
