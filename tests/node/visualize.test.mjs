// The pictures computed in JavaScript (web/visualize.js, web/resize.js)
// against NumPy/PyTorch goldens (tools/make_image_goldens.py,
// tools/make_goldens_visualization.py) and against the C library in the wasm
// build, value for value; toCanvas in Node and toPNG's bytes decoded back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { createEngine } from '../../web/engine.js';
import {
  COLORMAPS, Saliency, colorizeMap, resizeCrop, toCanvas, toPNG, visualizeImageDiverging, visualizeImageGrayscale,
} from '../../web/index.js';
import { GOLDENS, PHOTOS, readNpy } from './helpers/goldens.mjs';

const PERCENTILES = [99, 50, 0, 100, 37.5]; // the goldens' order

function mask3(array) {
  const [height, width, channels] = array.shape;
  return { width, height, channels, data: array.data };
}

function maxAbsDifference(a, b) {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// A seeded generator (xorshift32) for masks with negative, zero and tied values.
function randomMask(width, height, channels, seed) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    const u = next();
    data[i] = u < 0.15 ? 0 : u < 0.25 ? 0.5 : (next() - 0.5) * 10 ** (next() * 4 - 2);
  }
  return { width, height, channels, data };
}

describe('visualizations', () => {
  let engine;
  before(async () => {
    engine = await createEngine({ variant: 'simd', threads: 1 });
  });
  after(() => engine.dispose());

  test('grayscale: PAIR saliency\'s picture computed by NumPy', () => {
    for (const name of ['gray_random', 'gray_ties']) {
      const mask = mask3(readNpy(`${GOLDENS}/image/${name}_mask.npy`));
      const outs = readNpy(`${GOLDENS}/image/${name}_out.npy`);
      const size = mask.width * mask.height;
      PERCENTILES.forEach((p, k) => {
        const got = visualizeImageGrayscale(mask, p);
        assert.deepEqual([got.width, got.height], [mask.width, mask.height]);
        const worst = maxAbsDifference(got.data, outs.data.subarray(k * size, (k + 1) * size));
        assert.ok(worst <= 1e-6, `${name} at percentile ${p}: off by ${worst}`);
      });
    }
  });

  test('diverging: the NumPy golden; zero stays zero, signs are kept', () => {
    const mask = mask3(readNpy(`${GOLDENS}/visualization/diverging_mask.npy`));
    const outs = readNpy(`${GOLDENS}/visualization/diverging_out.npy`);
    const size = mask.width * mask.height;
    PERCENTILES.forEach((p, k) => {
      const got = visualizeImageDiverging(mask, p);
      const want = outs.data.subarray(k * size, (k + 1) * size);
      assert.ok(maxAbsDifference(got.data, want) <= 1e-6, `percentile ${p}`);
      for (let i = 0; i < size; i++) {
        if (want[i] === 0) assert.equal(got.data[i], 0);
        assert.ok(got.data[i] >= -1 && got.data[i] <= 1);
      }
    });
  });

  test('grayscale and diverging equal the C library\'s, value for value', () => {
    const masks = [randomMask(31, 17, 3, 1), randomMask(8, 8, 1, 2), randomMask(224, 224, 3, 3), randomMask(1, 1, 3, 4)];
    for (const mask of masks) {
      for (const p of [...PERCENTILES, 99.9, 12.25]) {
        assert.deepEqual(visualizeImageGrayscale(mask, p).data, engine.visualizeGrayscale(mask, p).data,
          `grayscale ${mask.width}x${mask.height}x${mask.channels} at ${p}`);
        assert.deepEqual(visualizeImageDiverging(mask, p).data, engine.visualizeDiverging(mask, p).data,
          `diverging ${mask.width}x${mask.height}x${mask.channels} at ${p}`);
      }
    }
  });

  test('colormaps: matplotlib\'s colours (NumPy golden) and the C library\'s bytes', () => {
    const values = readNpy(`${GOLDENS}/visualization/colormap_values.npy`).data;
    const rgb = readNpy(`${GOLDENS}/visualization/colormap_rgb.npy`).data;
    const map = { width: values.length, height: 1, data: values };
    COLORMAPS.forEach((colormap, k) => {
      // matplotlib's 'bwr' table has no pure white entry; the library's diverging map is white at 0 exactly.
      const tolerance = colormap === 'diverging' ? 1.5 : 0.501;
      const got = colorizeMap(map, { colormap });
      for (let i = 0; i < values.length; i++) {
        for (let c = 0; c < 3; c++) {
          const want = 255 * rgb[(k * values.length + i) * 3 + c];
          assert.ok(Math.abs(got.data[4 * i + c] - want) <= tolerance, `${colormap} at ${values[i]}`);
        }
        assert.equal(got.data[4 * i + 3], 255);
      }
    });
    const photo = { width: 64, height: 48, data: new Uint8ClampedArray(64 * 48 * 4).map((_, i) => (i * 37) % 256) };
    const field = visualizeImageDiverging(randomMask(64, 48, 3, 9));
    const positive = visualizeImageGrayscale(randomMask(64, 48, 3, 10));
    for (const colormap of COLORMAPS) {
      const shown = colormap === 'diverging' ? field : positive;
      for (const alpha of [undefined, 0.5, 0.3, 1]) {
        const options = alpha === undefined ? {} : { overlay: photo, alpha };
        assert.deepEqual(colorizeMap(shown, { colormap, ...options }).data,
          engine.colorize(shown, { colormap, ...options }).data,
          `${colormap}, alpha ${alpha ?? "(no overlay)"}`);
      }
    }
  });

  test('resizeCrop: the photo fitted as the library fits it (PyTorch antialiased bilinear golden)', () => {
    for (const [photo, size] of [['chelsea.png', 224], ['coffee.png', 299]]) {
      const want = readNpy(`${GOLDENS}/image/resize_${photo.replace('.', '_')}_${size}x${size}.npy`).data;
      const decoded = engine.decodeImage(new Uint8Array(readFileSync(`${PHOTOS}/${photo}`)));
      const got = resizeCrop(decoded, size, size);
      // The golden holds a 15 x 15 grid of samples: rows and columns i * (n - 1) / 14.
      const grid = (i) => Math.trunc((i * (size - 1)) / 14);
      let worst = 0;
      for (let r = 0; r < 15; r++) {
        for (let col = 0; col < 15; col++) {
          const at = grid(r) * size + grid(col);
          for (let c = 0; c < 3; c++) {
            worst = Math.max(worst, Math.abs(got.data[4 * at + c] - want[(r * 15 + col) * 3 + c]));
          }
        }
      }
      assert.ok(worst <= 0.51, `${photo}: off by ${worst} (bytes are rounded)`);
    }
  });

  test('toCanvas in Node: an ImageData-like picture; toPNG: a PNG that decodes to it', async () => {
    const mask = randomMask(40, 30, 3, 5);
    const photo = engine.decodeImage(new Uint8Array(readFileSync(`${PHOTOS}/chelsea.png`)));
    for (const options of [{}, { colormap: 'inferno' }, { colormap: 'diverging', overlay: photo, alpha: 0.4 }]) {
      const picture = toCanvas(mask, options);
      assert.deepEqual([picture.width, picture.height, picture.data.length], [40, 30, 40 * 30 * 4]);
      assert.ok(picture.data instanceof Uint8ClampedArray);
      const png = await toPNG(mask, options);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const back = engine.decodeImage(png);
      assert.deepEqual([back.width, back.height], [40, 30]);
      assert.deepEqual(back.data, picture.data);
      assert.deepEqual(await toPNG(picture), png, 'an RGBA picture is encoded as it is');
    }
    assert.throws(() => toCanvas(mask, { colormap: 'rainbow' }), /rainbow/);
    assert.throws(() => toCanvas(mask, { alpha: 2, overlay: photo }), /alpha/);
    const nan = { ...mask, data: mask.data.slice() };
    nan.data[7] = NaN;
    assert.throws(() => toCanvas(nan), /NaN/);
  });

  test('a session\'s toPNG reads the overlay from a path', async () => {
    const session = await Saliency.create({ worker: true, threads: 1 });
    try {
      const map = visualizeImageGrayscale(randomMask(50, 50, 3, 6));
      const png = await session.toPNG(map, { colormap: 'jet', overlay: `${PHOTOS}/chelsea.png` });
      const back = engine.decodeImage(png);
      const photo = resizeCrop(engine.decodeImage(new Uint8Array(readFileSync(`${PHOTOS}/chelsea.png`))), 50, 50);
      assert.deepEqual(back.data, colorizeMap(map, { colormap: 'jet', overlay: photo }).data);
    } finally {
      session.dispose();
    }
  });
});
