// engine.test.mjs - web/engine.js, the synchronous engine over the wasm
// module, in both variants (simd: one thread; simd-threads: two), against the
// goldens the native tests use: every number compared here comes from the
// independent float64 PyTorch interpreter of TF.js models (tools/*.py), or
// from NumPy/matplotlib/torch for the visualizations.
//
// Needs dist/ (scripts/build_wasm.sh) and, for the ResNet50 checks, the asset
// cache (scripts/fetch_assets.sh; SAL_CACHE_DIR as for the other scripts).
//
// Tolerance as in tests/c/test_goldens.c: the reference is exact up to
// float64 rounding, the library computes in float32, so a value passes when
// |got - want| <= 1e-4 * max|want| + 1e-3 * |want|.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createEngine } from '../../web/engine.js';
import { loadNpy } from './npy.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GOLDENS = `${REPO}tests/goldens`;
const ASSETS = process.env.SAL_CACHE_DIR ? `${process.env.SAL_CACHE_DIR}/assets` : `${REPO}.cache/assets`;
const IDENTITY = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false };
const VARIANTS = [{ variant: 'simd', threads: 1 }, { variant: 'simd-threads', threads: 2 }];

describe('createEngine', () => {
  it('starts the threaded variant with one thread, and picks a variant itself', async () => {
    const single = await createEngine({ variant: 'simd-threads', threads: 1 });
    assert.deepEqual([single.variant, single.threads], ['simd-threads', 1]);
    single.dispose();
    const auto = await createEngine({ threads: 2 });
    assert.deepEqual([auto.variant, auto.threads], ['simd-threads', 2], 'Node has SharedArrayBuffer');
    auto.dispose();
    const one = await createEngine({ threads: 1 });
    assert.equal(one.variant, 'simd', 'one thread needs no shared memory');
    one.dispose();
  });

  it('rejects unknown variants and bad thread counts', async () => {
    await assert.rejects(createEngine({ variant: 'gpu' }), /unknown variant 'gpu'/);
    await assert.rejects(createEngine({ threads: -1 }), /threads/);
    await assert.rejects(createEngine({ threads: 1.5 }), /threads/);
  });
});

/* ------------------------------------------------------------ helpers */

function readModelFiles(dir) {
  const json = readFileSync(`${dir}/model.json`, 'utf8');
  const names = (JSON.parse(json).weightsManifest ?? []).flatMap((group) => group.paths);
  return { json, shards: names.map((name) => ({ name, data: new Uint8Array(readFileSync(`${dir}/${name}`)) })) };
}

function goldenModelNames() {
  return readdirSync(`${GOLDENS}/models`, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
    .sort();
}

/* Image `index` of an (N, H, W, C) array, or the whole of an (H, W, C) one. */
function imageOf(array, index = 0) {
  const [height, width, channels] = array.shape.slice(-3);
  const size = height * width * channels;
  return { width, height, channels, data: array.data.slice(index * size, (index + 1) * size) };
}

function maxAbs(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

/* Fails naming the worst element, as the C tests do. */
function expectClose(got, want, what, { atolShare = 1e-4, rtol = 1e-3 } = {}) {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  const atol = atolShare * maxAbs(want) + 1e-7;
  let worst = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    const ratio = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(ratio <= worst)) { worst = ratio; at = i; }
  }
  assert.ok(worst <= 1, `${what}: worst error ${worst.toPrecision(3)} x tolerance at element ${at} of ` +
    `${want.length}: got ${got[at]}, reference ${want[at]} (max|reference| ${maxAbs(want).toPrecision(3)})`);
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

/* Mean over blocks x blocks pixels of an H x W x C map. */
function blockAverage(data, height, width, channels, block) {
  const h = height / block, w = width / block, out = new Float64Array(h * w * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        out[((Math.floor(y / block) * w) + Math.floor(x / block)) * channels + c] +=
          data[(y * width + x) * channels + c] / (block * block);
      }
    }
  }
  return out;
}

/* The synthetic photo of tools/make_goldens.py (pattern_image), as float RGB. */
function patternImage(size = 224) {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const at = (y * size + x) * 3;
      data[at] = 127.5 + 127.5 * Math.sin(0.11 * x + 0.05 * y);
      data[at + 1] = 127.5 + 127.5 * Math.cos(0.07 * y - 0.03 * x + 1.0);
      data[at + 2] = (x ^ y) & 255;
    }
  }
  return { width: size, height: size, channels: 3, data };
}

/* The shards as views at offsets into one buffer (none starts at byte 0). */
function asViewsOfOneBuffer(shards) {
  const total = shards.reduce((sum, s) => sum + s.data.byteLength, 0);
  const all = new Uint8Array(total + 3);
  let at = 3;
  return shards.map(({ name, data }) => {
    all.set(data, at);
    at += data.byteLength;
    return { name, data: all.subarray(at - data.byteLength, at) };
  });
}

function assertThrowsMessage(fn, pattern, what) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof Error, `${what}: not an Error`);
    assert.match(error.message, pattern, `${what}: message '${error.message}'`);
    return true;
  }, what);
}

/* ---------------------------------------------------------------- tests */

for (const { variant, threads } of VARIANTS) {
  describe(`engine, variant ${variant}`, () => {
    let engine;
    before(async () => { engine = await createEngine({ variant, threads }); });
    after(() => engine?.dispose());

    it('runs the variant and thread count it was asked for', () => {
      assert.equal(engine.variant, variant);
      assert.equal(engine.threads, threads);
      assert.ok(engine.heapBytes() >= 16 << 20, `heap of ${engine.heapBytes()} bytes`);
    });

    describe('small-model goldens of test_goldens.c (forward, backward)', () => {
      for (const name of goldenModelNames()) {
        it(name, () => checkSmallModel(engine, name));
      }
      it('two models in turn (each call may move the thread pool to its model)', () => {
        const names = ['seq_small', 'resnet_block'];
        const models = names.map((name) => engine.loadModel({ ...readModelFiles(`${GOLDENS}/models/${name}`),
          preprocess: 'none' }));
        try {
          for (let round = 0; round < 2; round++) {
            names.forEach((name, m) => {
              const input = loadNpy(`${GOLDENS}/models/${name}/input.npy`);
              const { logits } = engine.forward(models[m], input.data, { batch: input.shape[0] });
              const want = loadNpy(`${GOLDENS}/models/${name}/logits.npy`).data;
              expectClose(logits, want, `${name} logits, round ${round}`);
            });
          }
        } finally {
          models.forEach((model) => engine.freeModel(model));
        }
        assert.throws(() => engine.forward(models[0], new Float32Array(1)), /freed/);
      });
    });

    describe('methods through explain, float pixels and identity preprocessing', () => {
      for (const name of ['seq_small', 'resnet_block', 'inception_mix']) {
        it(`${name}: vanilla, guided, deconvnet, gradient x input, integrated gradients`, () =>
          checkGradientMethods(engine, name));
      }
      for (const name of ['seq_small', 'resnet_block']) {
        it(`${name}: Grad-CAM and occlusion`, () => checkCamMethods(engine, name));
      }
    });

    describe('ResNet50 (asset cache)', () => {
      let model;
      before(() => { model = engine.loadModel({ ...readModelFiles(`${ASSETS}/resnet50`), preprocess: 'caffe' }); });
      after(() => engine.freeModel(model));

      it('describes the model', () => {
        assert.equal(model.inputHeight, 224);
        assert.equal(model.inputWidth, 224);
        assert.equal(model.channels, 3);
        assert.equal(model.numClasses, 1000);
        assert.ok(model.layers.includes(model.lastSpatialLayer), `last spatial layer ${model.lastSpatialLayer}`);
      });

      it('classifies cat.jpg, decoded and resized in wasm, as the reference does', () => {
        const photo = engine.decodeImage(readFileSync(`${ASSETS}/photos/cat.jpg`));
        assert.ok(photo.width > 224 && photo.height > 224 && photo.data.length === photo.width * photo.height * 4);
        const top5 = loadNpy(`${GOLDENS}/resnet50/cat/top5.npy`).data;
        const probs = loadNpy(`${GOLDENS}/resnet50/cat/top5_probs.npy`).data;
        const result = engine.classify(model, photo, { top: 5 });
        assert.equal(result.length, 5);
        assert.equal(result[0].index, top5[0], `top-1 ${result[0].index}, reference ${top5[0]}`);
        // stb_image and libjpeg differ slightly: the native test's photo tolerance
        assert.ok(Math.abs(result[0].score - probs[0]) <= 1e-3, `p(top-1) ${result[0].score}, reference ${probs[0]}`);
        for (const { index, score } of result.slice(0, 3)) {
          const k = top5.indexOf(index);
          assert.ok(k >= 0, `class ${index} is not in the reference top 5`);
          assert.ok(Math.abs(score - probs[k]) <= 1e-3, `p(${index}) ${score}, reference ${probs[k]}`);
        }
      });

      it('classifies and explains (vanilla) the synthetic pattern as the reference does', () => {
        const dir = `${GOLDENS}/resnet50/pattern`;
        const pattern = patternImage();
        const top5 = loadNpy(`${dir}/top5.npy`).data, probs = loadNpy(`${dir}/top5_probs.npy`).data;
        const result = engine.classify(model, pattern, { top: 5 });
        assert.deepEqual(result.map((r) => r.index), Array.from(top5));
        expectClose(result.map((r) => r.score), probs, 'pattern top-5 probabilities', { atolShare: 0, rtol: 1e-3 });

        const mask = engine.explain(model, pattern, { method: 'vanilla' });
        assert.deepEqual([mask.width, mask.height, mask.channels, mask.target], [224, 224, 3, top5[0]]);
        const small = blockAverage(mask.data, 224, 224, 3, 8);
        const want = loadNpy(`${dir}/grad_small.npy`).data;
        assert.ok(cosine(small, want) >= 0.9999, `cosine of pooled gradients ${cosine(small, want)}`);
        const [sumAbs, maxAbsWant, norm] = loadNpy(`${dir}/grad_stats.npy`).data;
        const got = [mask.data.reduce((s, v) => s + Math.abs(v), 0), maxAbs(mask.data),
          Math.sqrt(mask.data.reduce((s, v) => s + v * v, 0))];
        expectClose(got, [sumAbs, maxAbsWant, norm], 'gradient sum|g|, max|g|, L2', { atolShare: 0, rtol: 1e-3 });
      });

      it('explains the synthetic pattern with Grad-CAM as the reference does', () => {
        const dir = `${GOLDENS}/methods/cam/resnet50_pattern`;
        const cam = engine.explain(model, patternImage(), { method: 'grad-cam' });
        assert.equal(cam.target, loadNpy(`${dir}/target.npy`).data[0]);
        assert.deepEqual([cam.width, cam.height, cam.channels], [224, 224, 1]);
        assert.deepEqual([cam.lowRes.width, cam.lowRes.height], [7, 7]);
        expectClose(cam.lowRes.data, loadNpy(`${dir}/gradcam_low.npy`).data, 'ResNet50 Grad-CAM 7 x 7');
        expectClose(blockAverage(cam.data, 224, 224, 1, 8), loadNpy(`${dir}/gradcam_up_block8.npy`).data,
          'ResNet50 Grad-CAM upsampled, 8 x 8 block means');
      });
    });

    describe('ResNet50 loads with its shard bytes left in JavaScript', () => {
      let fresh; /* wasm memory never shrinks: its size tells the peak of this engine's calls */
      before(async () => { fresh = await createEngine({ variant, threads }); });
      after(() => fresh?.dispose());

      it('needs no more memory than the float32 weights and some slack', () => {
        const { json, shards } = readModelFiles(`${ASSETS}/resnet50`);
        const weightBytes = 4 * JSON.parse(json).weightsManifest.flatMap((group) => group.weights)
          .reduce((sum, w) => sum + w.shape.reduce((n, d) => n * d, 1), 0);
        /* Memory grows by up to a fifth at a time; copying the shards in first would need twice the weights. */
        const bound = 1.2 * (weightBytes + (8 << 20));
        const model = fresh.loadModel({ json, shards: asViewsOfOneBuffer(shards), preprocess: 'caffe' });
        try {
          assert.ok(fresh.heapBytes() <= bound, `${fresh.heapBytes()} bytes of wasm memory after loading ` +
            `${weightBytes} bytes of weights (bound ${bound})`);
          const dir = `${GOLDENS}/resnet50/pattern`;
          const result = fresh.classify(model, patternImage(), { top: 5 });
          assert.deepEqual(result.map((r) => r.index), Array.from(loadNpy(`${dir}/top5.npy`).data));
          expectClose(result.map((r) => r.score), loadNpy(`${dir}/top5_probs.npy`).data, 'pattern top-5',
            { atolShare: 0, rtol: 1e-3 });
        } finally {
          fresh.freeModel(model);
        }
      });

      it('reports missing, short and unreadable shards, freeing what it allocated', () => {
        const { json, shards } = readModelFiles(`${ASSETS}/resnet50`);
        const inUse = fresh.heapInUse();
        const missing = shards.filter((s) => s.name !== 'group1-shard7of25.bin');
        assertThrowsMessage(() => fresh.loadModel({ json, shards: missing }), /'group1-shard7of25\.bin' was not given/,
          'missing shard');
        const cut = (s) => (s.name === 'group1-shard25of25.bin' ? { ...s, data: s.data.slice(0, -4) } : s);
        const short = shards.map(cut);
        assertThrowsMessage(() => fresh.loadModel({ json, shards: short }), /group1-shard25of25\.bin' ends at byte/,
          'short shard');
        /* Bytes that go missing behind the sizes C was given (white box: engine.js's table for the C reads). */
        let table;
        const halve = (bytes, i) => (i === 0 ? bytes.subarray(0, bytes.length >> 1) : bytes);
        Object.defineProperty(fresh.wasm, 'salShards',
          { configurable: true, get: () => table, set: (value) => { table = value?.map(halve); } });
        try {
          assertThrowsMessage(() => fresh.loadModel({ json, shards }),
            /cannot read bytes \d+ to \d+ of weight shard 'group1-shard1of25\.bin'/, 'unreadable shard');
        } finally {
          delete fresh.wasm.salShards;
        }
        assert.equal(fresh.heapInUse(), inUse, 'failed loads free everything');
        fresh.freeModel(fresh.loadModel({ json, shards, preprocess: 'caffe' }));
      });
    });

    describe('visualizations against the goldens of test_visualization.c', () => {
      it('grayscale and diverging maps at five percentiles (NumPy)', () => checkPercentileMaps(engine));
      it('colormaps with and without an overlay (matplotlib)', () => checkColormaps(engine));
      it('bilinear resizing (torch interpolate)', () => checkResize(engine));
      it('PNG encoding decodes back to the same pixels', () => {
        const width = 13, height = 7, data = new Uint8ClampedArray(width * height * 4);
        for (let i = 0; i < data.length; i++) data[i] = (i * 53 + 11) % 256;
        for (let i = 3; i < data.length; i += 4) data[i] = 255;
        const png = engine.encodePNG({ width, height, data });
        assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
        const back = engine.decodeImage(png);
        assert.deepEqual([back.width, back.height], [width, height]);
        assert.deepEqual(back.data, data);
      });
      it('XRAI top mask keeps the best-ranked share of the area', () => {
        const regionRank = Int32Array.from([0, 0, 1, 1, 2, 2, 3, -1]);
        const top = engine.xraiTopMask({ width: 4, height: 2, regionRank }, 25);
        assert.deepEqual(Array.from(top.data), [1, 1, 0, 0, 0, 0, 0, 0]);
      });
    });

    describe('errors leave the engine usable', () => {
      let model, photo, expected;
      before(() => {
        model = engine.loadModel({ ...readModelFiles(`${GOLDENS}/models/seq_small`), preprocess: IDENTITY });
        photo = imageOf(loadNpy(`${GOLDENS}/models/seq_small/input.npy`), 0);
        expected = engine.classify(model, photo, { top: 5 });
      });
      after(() => engine.freeModel(model));

      it('malformed, unsupported and incomplete models are rejected with clear messages', () => {
        const good = readModelFiles(`${GOLDENS}/models/seq_small`);
        assertThrowsMessage(() => engine.loadModel({ json: '{"modelTopology": [', shards: good.shards }),
          /JSON/i, 'truncated JSON');
        const unsupported = good.json.replace('"Conv2D"', '"Conv3D"');
        assert.notEqual(unsupported, good.json);
        assertThrowsMessage(() => engine.loadModel({ json: unsupported, shards: good.shards }), /Conv3D/,
          'unsupported layer');
        assertThrowsMessage(() => engine.loadModel({ json: good.json, shards: [] }), /group1-shard1of1\.bin/,
          'missing shard');
        assertThrowsMessage(() => engine.loadModel({ ...good, preprocess: 'imagenet' }), /preprocess/i,
          'unknown preset');
        assert.deepEqual(engine.classify(model, photo, { top: 5 }), expected);
      });

      it('bad images and options are rejected with clear messages', () => {
        const nan = { ...photo, data: photo.data.slice() };
        nan.data[5] = NaN;
        assertThrowsMessage(() => engine.classify(model, nan), /NaN/, 'NaN pixel');
        assertThrowsMessage(() => engine.explain(model, nan, { method: 'vanilla' }), /NaN/, 'NaN pixel in explain');
        assertThrowsMessage(() => engine.classify(model, { width: 3, height: 3, data: new Uint8Array(5) }),
          /holds 5 values/, 'short RGBA data');
        assertThrowsMessage(() => engine.explain(model, photo, { method: 'magic' }), /unknown method 'magic'/,
          'unknown method');
        assertThrowsMessage(() => engine.explain(model, photo, { method: 'integrated-gradients', steps: 0 }),
          /steps/, 'zero steps');
        assertThrowsMessage(() => engine.explain(model, photo, { steps: 2.5 }), /whole number/, 'fractional steps');
        assertThrowsMessage(() => engine.explain(model, photo, { quadrature: 'simpson' }), /riemann_trapezoid/,
          'unknown quadrature');
        assertThrowsMessage(() => engine.explain(model, photo, { colour: 'red' }), /unknown explain option 'colour'/,
          'unknown option');
        assertThrowsMessage(() => engine.explain(model, photo, { method: 'grad-cam', layer: 'nope' }), /nope/,
          'unknown layer');
        assertThrowsMessage(() => engine.colorize({ width: 1, height: 1, data: [0.5] }, { colormap: 'rainbow' }),
          /unknown colormap 'rainbow'/, 'unknown colormap');
        assert.deepEqual(engine.classify(model, photo, { top: 5 }), expected);
      });

      it('running out of memory is an error, not an abort', () => {
        const tiny = { width: 1, height: 1, data: [1] };
        assert.throws(() => engine.resizeMap(tiny, 40000, 40000),
          (e) => e.code === 'memory' && /out of memory/.test(e.message));
        const before = engine.heapBytes();
        assert.equal(engine.wasm._malloc(0xfff00000), 0, 'malloc beyond 4 GiB returns NULL (ABORTING_MALLOC=0)');
        assert.equal(engine.heapBytes(), before, 'a failed malloc does not grow the memory');
        assert.deepEqual(engine.classify(model, photo, { top: 5 }), expected);
      });

      it('cancellation through onProgress throws an AbortError', () => {
        const options = { method: 'vanilla', smoothSamples: 40, seed: 7 };
        const fractions = [];
        const full = engine.explain(model, photo, options, (f) => { fractions.push(f); return false; });
        assert.ok(fractions.length >= 2, `${fractions.length} progress reports`);
        assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])),
          `fractions ${fractions}`);
        assert.equal(fractions.at(-1), 1);

        let calls = 0;
        assert.throws(() => engine.explain(model, photo, options, () => ++calls >= 2),
          (error) => error.name === 'AbortError' && /cancel/i.test(error.message));
        assert.equal(calls, 2, 'the call stopped at the first report that asked it to');

        const thrown = new Error('progress callback failed');
        assert.throws(() => engine.explain(model, photo, options, () => { throw thrown; }), (e) => e === thrown);
        assert.throws(() => engine.explain(model, photo, options, () => engine.classify(model, photo)), /busy/,
          'a call nested in onProgress');

        const again = engine.explain(model, photo, options);
        assert.deepEqual(again.data, full.data, 'the same explanation after cancellations');
        assert.deepEqual(engine.classify(model, photo, { top: 5 }), expected);
      });

      it('frees everything each call allocates, also on errors and cancellation', () => {
        const work = () => {
          engine.classify(model, photo);
          engine.explain(model, photo, { method: 'integrated-gradients', steps: 8 });
          engine.explain(model, photo, { method: 'grad-cam' });
          engine.visualizeGrayscale(engine.explain(model, photo, { method: 'vanilla' }));
          assert.throws(() => engine.explain(model, photo, { method: 'magic' }));
          assert.throws(() => engine.explain(model, photo, { smoothSamples: 20 }, () => true));
          assert.throws(() => engine.loadModel({ json: '{' }));
          engine.encodePNG(engine.colorize({ width: 2, height: 1, data: [0, 1] }));
        };
        work(); /* warm-up: contexts plan their buffers on first use */
        const before = engine.heapInUse();
        /* malloc may hand out a free block up to 16 bytes larger than asked when it re-plans the buffers, so the
         * count wobbles by a few bytes from round to round; a leak, even of one smallest block per round, would
         * lift the lowest count of the last rounds well above that. */
        const counts = [];
        for (let i = 0; i < 20; i++) {
          work();
          counts.push(engine.heapInUse());
        }
        const lowest = Math.min(...counts.slice(-5));
        assert.ok(lowest <= before + 16, `bytes in use: ${before} after the warm-up, then ${counts.join(', ')}`);
      });
    });
  });
}

/* ------------------------------------------------- golden comparisons */

function checkSmallModel(engine, name) {
  const dir = `${GOLDENS}/models/${name}`;
  const read = (file) => loadNpy(`${dir}/${file}`);
  const input = read('input.npy'), targets = read('targets.npy').data, logits = read('logits.npy').data;
  const probs = read('probs.npy').data, layer = readFileSync(`${dir}/layer.txt`, 'utf8').trim();
  const [batch, height, width, channels] = input.shape;
  const model = engine.loadModel({ ...readModelFiles(dir), preprocess: 'none' });
  try {
    assert.deepEqual([model.inputHeight, model.inputWidth, model.channels], [height, width, channels]);
    assert.equal(model.numClasses, logits.length / batch);
    assert.ok(model.layers.includes(layer), `${layer} is not among the layers ${model.layers}`);

    const forward = engine.forward(model, input.data, { batch });
    expectClose(forward.logits, logits, `${name} logits`);
    expectClose(forward.probs, probs, `${name} probabilities`);

    for (const rule of ['standard', 'guided', 'deconvnet']) {
      const want = read(`grad_${rule}.npy`).data;
      const result = engine.backward(model, input.data, { batch, targets, rule });
      assert.deepEqual(Array.from(result.targets), Array.from(targets));
      expectClose(result.inputGradient, want, `${name} input gradient (${rule}, batch ${batch})`);
      const size = want.length / batch;
      const single = engine.backward(model, input.data.slice(size, 2 * size), { targets: [targets[1]], rule });
      expectClose(single.inputGradient, want.subarray(size, 2 * size), `${name} input gradient (${rule}, image 2)`);
    }
    const withLayer = engine.backward(model, input.data, { batch, targets, layer });
    expectClose(withLayer.layerActivation, read('layer_act.npy').data, `${name} ${layer} activation`);
    expectClose(withLayer.layerGradient, read('layer_grad.npy').data, `${name} ${layer} gradient`);
  } finally {
    engine.freeModel(model);
  }
}

function checkGradientMethods(engine, name) {
  const dir = `${GOLDENS}/methods/gradients/${name}`;
  const read = (file) => loadNpy(`${dir}/${file}`).data;
  const image = imageOf(loadNpy(`${dir}/input.npy`));
  const target = read('target.npy')[0];
  const model = engine.loadModel({ ...readModelFiles(`${GOLDENS}/models/${name}`), preprocess: IDENTITY });
  try {
    const explain = (options) => engine.explain(model, image, { target, ...options });
    for (const [method, file] of [['guided-backprop', 'guided.npy'], ['deconvnet', 'deconvnet.npy'],
      ['gradient-x-input', 'grad_x_input.npy']]) {
      const mask = explain({ method });
      assert.deepEqual([mask.width, mask.height, mask.channels, mask.target],
        [image.width, image.height, 3, target]);
      expectClose(mask.data, read(file), `${name} ${method}`);
    }
    /* vanilla = the gradient of test_goldens.c's second image, with its own target */
    const models = `${GOLDENS}/models/${name}`;
    const second = imageOf(loadNpy(`${models}/input.npy`), 1);
    const secondTarget = loadNpy(`${models}/targets.npy`).data[1];
    const vanilla = engine.explain(model, second, { method: 'vanilla', target: secondTarget });
    expectClose(vanilla.data, imageOf(loadNpy(`${models}/grad_standard.npy`), 1).data, `${name} vanilla`);

    const baseline = imageOf(loadNpy(`${dir}/baseline.npy`));
    const ig = explain({ method: 'integrated-gradients', steps: 128, quadrature: 'riemann_trapezoid', baseline });
    expectClose(ig.data, read('ig_trapezoid128.npy'), `${name} integrated gradients (trapezoid, 128)`);
    const [fx, fBaseline] = read('ig_scores.npy');
    assert.ok(Math.abs(ig.scoreDifference - (fx - fBaseline)) <= 1e-4 * (1 + Math.abs(fx - fBaseline)),
      `F(x) - F(x') = ${ig.scoreDifference}, reference ${fx - fBaseline}`);
    const sum = ig.data.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(ig.completenessGap - (ig.scoreDifference - sum)) <= 1e-5 * (1 + Math.abs(fx - fBaseline)),
      `completeness gap ${ig.completenessGap}, F(x) - F(x') - sum ${ig.scoreDifference - sum}`);
  } finally {
    engine.freeModel(model);
  }
}

function checkCamMethods(engine, name) {
  const dir = `${GOLDENS}/methods/cam/${name}`;
  const models = `${GOLDENS}/models/${name}`;
  const inputs = loadNpy(`${models}/input.npy`), targets = loadNpy(`${models}/targets.npy`).data;
  const low = loadNpy(`${dir}/gradcam_low.npy`), up = loadNpy(`${dir}/gradcam_up.npy`);
  const layer = readFileSync(`${dir}/gradcam_layer.txt`, 'utf8').trim();
  const [, lh, lw] = low.shape;
  let model = engine.loadModel({ ...readModelFiles(models), preprocess: IDENTITY });
  try {
    for (let b = 0; b < targets.length; b++) {
      const cam = engine.explain(model, imageOf(inputs, b), { method: 'grad-cam', layer, target: targets[b] });
      assert.equal(cam.channels, 1);
      expectClose(cam.lowRes.data, low.data.subarray(b * lh * lw, (b + 1) * lh * lw), `${name} Grad-CAM low, ${b}`);
      assert.deepEqual([cam.lowRes.width, cam.lowRes.height], [lw, lh]);
      const size = cam.width * cam.height;
      expectClose(cam.data, up.data.subarray(b * size, (b + 1) * size), `${name} Grad-CAM upsampled, image ${b}`);
    }
    engine.freeModel(model);

    /* The golden's patch is 0.3 c - 0.4 in channel c of the model input: a
     * preprocessing that subtracts mean[c] = 0.4 - 0.3 c turns the pixel
     * value 0 into it, and pixels x + mean into the golden input x. */
    const mean = [0.4, 0.1, -0.2];
    model = engine.loadModel({ ...readModelFiles(models), preprocess: { scale: 1, mean, std: [1, 1, 1] } });
    const image = imageOf(inputs, 0);
    const shifted = { ...image, data: image.data.map((v, i) => v + mean[i % 3]) };
    const occlusionGoldens = readdirSync(dir).map((file) => /^occlusion_w(\d+)_s(\d+)\.npy$/.exec(file))
      .filter(Boolean).map((match) => [Number(match[1]), Number(match[2])]);
    assert.ok(occlusionGoldens.length > 0, `no occlusion goldens in ${dir}`);
    for (const [window, stride] of occlusionGoldens) {
      const want = loadNpy(`${dir}/occlusion_w${window}_s${stride}.npy`).data;
      const map = engine.explain(model, shifted, { method: 'occlusion', window, stride, baselineValue: 0,
        target: targets[0] });
      assert.equal(map.channels, 3);
      for (let c = 0; c < 3; c++) {
        expectClose(map.data.filter((_, i) => i % 3 === c), want, `${name} occlusion w${window} s${stride}, ` +
          `channel ${c}`);
      }
    }
  } finally {
    engine.freeModel(model);
  }
}

const PERCENTILES = [99, 50, 0, 100, 37.5]; /* as in tools/make_goldens*.py */

function checkPercentileMaps(engine) {
  for (const [kind, maskFile, outFile] of [
    ['grayscale', 'image/gray_random_mask.npy', 'image/gray_random_out.npy'],
    ['diverging', 'visualization/diverging_mask.npy', 'visualization/diverging_out.npy']]) {
    const mask = imageOf(loadNpy(`${GOLDENS}/${maskFile}`));
    const want = loadNpy(`${GOLDENS}/${outFile}`).data;
    const size = mask.width * mask.height;
    PERCENTILES.forEach((percentile, i) => {
      const map = kind === 'grayscale' ? engine.visualizeGrayscale(mask, percentile)
        : engine.visualizeDiverging(mask, percentile);
      assert.deepEqual([map.width, map.height], [mask.width, mask.height]);
      expectClose(map.data, want.subarray(i * size, (i + 1) * size), `${kind} at percentile ${percentile}`,
        { atolShare: 1e-5, rtol: 1e-5 });
    });
  }
}

function checkColormaps(engine) {
  const values = loadNpy(`${GOLDENS}/visualization/colormap_values.npy`).data;
  const rgb = loadNpy(`${GOLDENS}/visualization/colormap_rgb.npy`).data;
  const n = values.length, map = { width: n, height: 1, data: values };
  const overlay = { width: n, height: 1, data: Uint8ClampedArray.from({ length: 4 * n }, (_, i) => (i * 37) % 256) };
  ['gray', 'inferno', 'viridis', 'jet', 'diverging'].forEach((colormap, m) => {
    const tolerance = colormap === 'diverging' ? 1.5 : 0.501; /* bytes are rounded */
    const plain = engine.colorize(map, { colormap });
    const blended = engine.colorize(map, { colormap, overlay, alpha: 0.3 });
    let worst = 0, worstBlend = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        const colour = 255 * rgb[(m * n + i) * 3 + c];
        worst = Math.max(worst, Math.abs(plain.data[4 * i + c] - colour));
        worstBlend = Math.max(worstBlend, Math.abs(blended.data[4 * i + c] - (0.3 * colour + 0.7 *
          overlay.data[4 * i + c])));
      }
      assert.equal(plain.data[4 * i + 3], 255);
    }
    assert.ok(worst <= tolerance, `${colormap}: worst colour error ${worst} bytes`);
    assert.ok(worstBlend <= 0.5 + 0.3 * (tolerance - 0.5) + 1e-3, `${colormap} overlay: worst error ${worstBlend}`);
  });
}

function checkResize(engine) {
  const cases = [['resize_input.npy', 'resize_out_16x23.npy'], ['resize_input.npy', 'resize_out_3x2.npy'],
    ['resize_input.npy', 'resize_out_1x1.npy'], ['resize_cam.npy', 'resize_cam_56x56.npy'],
    ['resize_single.npy', 'resize_single_4x3.npy']];
  for (const [inFile, outFile] of cases) {
    const input = imageOf(loadNpy(`${GOLDENS}/visualization/${inFile}`));
    const want = imageOf(loadNpy(`${GOLDENS}/visualization/${outFile}`));
    const got = engine.resizeMap(input, want.width, want.height);
    assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, want.channels]);
    expectClose(got.data, want.data, `resize ${inFile} to ${outFile}`, { atolShare: 1e-5, rtol: 1e-5 });
  }
}
