// The public JavaScript API (web/index.js) on the wasm build, in Node, with
// the engine in a worker_threads Worker and in the calling thread:
// - the small-model goldens of the native tests (PyTorch autograd, float64,
//   written by tools/make_goldens*.py) through classify and explain, with the
//   native tests' tolerance;
// - failures reject with messages naming the problem and leave the session usable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { Saliency } from '../../web/index.js';
import {
  GOLDENS, batchImage, compareClose, goldenModel, readNpy, readText, slice,
} from './helpers/goldens.mjs';

// Photo models (3 input channels) of tests/goldens/models; pixels = model input with preprocess 'none'.
const PHOTO_MODELS = ['seq_small', 'resnet_block', 'inception_mix', 'pools_reshape'];
// The gradient-method and Grad-CAM goldens exist for these.
const METHOD_MODELS = ['seq_small', 'resnet_block', 'inception_mix'];
const CAM_MODELS = ['seq_small', 'resnet_block'];

function assertClose(got, want, what) {
  const problem = compareClose(got, want);
  assert.equal(problem, null, `${what}: ${problem}`);
}

function floatImage(array) {
  const [height, width, channels] = array.shape;
  return { width, height, channels, data: array.data };
}

async function loadGolden(session, name) {
  const { json, shards } = goldenModel(name);
  return session.loadModel({ json, shards }, { preprocess: 'none' });
}

for (const worker of [true, false]) {
  describe(`goldens through the API (${worker ? 'worker' : 'no worker'})`, () => {
    let session;
    before(async () => {
      session = await Saliency.create({ worker, threads: 2 });
    });
    after(() => session.dispose());

    test('the session says how it runs', () => {
      assert.equal(session.usesWorker, worker);
      assert.equal(session.variant, 'simd-threads', 'Node has SharedArrayBuffer: the threaded build');
      assert.equal(session.threads, 2);
    });

    for (const name of PHOTO_MODELS) {
      test(`${name}: probabilities, logits and the three ReLU rules' gradients`, async () => {
        const dir = `${GOLDENS}/models/${name}`;
        const input = readNpy(`${dir}/input.npy`);
        const probs = readNpy(`${dir}/probs.npy`);
        const logits = readNpy(`${dir}/logits.npy`);
        const targets = readNpy(`${dir}/targets.npy`).data;
        const model = await loadGolden(session, name);
        assert.deepEqual([model.inputHeight, model.inputWidth, model.channels], input.shape.slice(1));
        assert.equal(model.numClasses, logits.shape[1]);
        const classes = model.numClasses;
        for (let image = 0; image < input.shape[0]; image++) {
          const pixels = batchImage(input, image);
          const ranking = await session.classify(pixels, { top: classes });
          const got = new Float32Array(classes);
          for (const { index, score } of ranking) got[index] = score;
          assertClose(got, slice(probs, image), `${name} image ${image} probabilities`);
          for (let i = 1; i < ranking.length; i++) {
            assert.ok(ranking[i - 1].score >= ranking[i].score, 'ranked best first');
          }
          const target = targets[image];
          for (const [method, file] of [['vanilla', 'grad_standard'], ['guided-backprop', 'grad_guided'],
            ['deconvnet', 'grad_deconvnet']]) {
            const mask = await session.explain(pixels, { method, target });
            assert.equal(mask.target, target);
            assert.equal(mask.method, method);
            assert.deepEqual([mask.height, mask.width, mask.channels], input.shape.slice(1));
            assertClose(mask.data, slice(readNpy(`${dir}/${file}.npy`), image), `${name} image ${image} ${method}`);
            assertClose([mask.score], [logits.data[image * classes + target]], `${name} image ${image} score`);
          }
        }
        await model.free();
      });
    }

    for (const name of METHOD_MODELS) {
      test(`${name}: gradient x input and integrated gradients (128 trapezoid steps, image baseline)`, async () => {
        const dir = `${GOLDENS}/methods/gradients/${name}`;
        const pixels = floatImage(readNpy(`${dir}/input.npy`));
        const target = readNpy(`${dir}/target.npy`).data[0];
        const model = await loadGolden(session, name);
        const gxi = await model.explain(pixels, { method: 'gradient-x-input', target });
        assertClose(gxi.data, readNpy(`${dir}/grad_x_input.npy`).data, `${name} gradient x input`);
        const ig = await model.explain(pixels, {
          method: 'integrated-gradients', target, steps: 128, quadrature: 'riemann_trapezoid',
          baseline: floatImage(readNpy(`${dir}/baseline.npy`)),
        });
        assertClose(ig.data, readNpy(`${dir}/ig_trapezoid128.npy`).data, `${name} integrated gradients`);
        const [scoreX, scoreBaseline] = readNpy(`${dir}/ig_scores.npy`).data;
        assertClose([ig.scoreDifference], [scoreX - scoreBaseline], `${name} F(x) - F(x')`);
        const sum = ig.data.reduce((a, b) => a + b, 0);
        assertClose([ig.completenessGap], [ig.scoreDifference - sum], `${name} completeness gap`);
        await model.free();
      });
    }

    for (const name of CAM_MODELS) {
      test(`${name}: Grad-CAM at the golden layer, upsampled and at the layer's resolution`, async () => {
        const dir = `${GOLDENS}/methods/cam/${name}`;
        const input = readNpy(`${GOLDENS}/models/${name}/input.npy`);
        const target = readNpy(`${GOLDENS}/models/${name}/targets.npy`).data[0];
        const up = readNpy(`${dir}/gradcam_up.npy`);
        const low = readNpy(`${dir}/gradcam_low.npy`);
        const model = await loadGolden(session, name);
        const layer = readText(`${dir}/gradcam_layer.txt`);
        assert.ok(model.layers.includes(layer), `the model lists layer ${layer}`);
        const cam = await model.explain(batchImage(input, 0), { method: 'grad-cam', target, layer });
        assert.equal(cam.channels, 1);
        assertClose(cam.data, slice(up, 0), `${name} Grad-CAM`);
        assert.deepEqual([cam.lowRes.height, cam.lowRes.width], low.shape.slice(1));
        assertClose(cam.lowRes.data, slice(low, 0), `${name} Grad-CAM at the layer`);
        await model.free();
      });
    }

    test('models whose input is not a photo load, and explaining them says why it cannot', async () => {
      for (const name of ['activations', 'mobile_se']) {
        const model = await loadGolden(session, name);
        assert.notEqual(model.channels, 3);
        const image = { width: model.inputWidth, height: model.inputHeight, channels: 3,
          data: new Float32Array(model.inputWidth * model.inputHeight * 3) };
        await assert.rejects(model.explain(image), (error) => {
          assert.match(error.message, /channel/);
          return true;
        });
        await model.free();
      }
    });

    test('bad models reject with a message naming the problem; the session keeps working', async () => {
      const good = goldenModel('seq_small');
      const cases = [
        [{ json: '{"modelTopology": {', shards: [] }, /JSON/],
        [{ json: good.json, shards: [] }, /shard|weight|group1-shard1of1/],
        [{ json: good.json.replace('"Conv2D"', '"LSTM"'), shards: good.shards }, /LSTM/],
        [`${GOLDENS}/models/no_such_model/model.json`, /cannot open .*no_such_model.*No such file/],
        [{ json: good.json, shards: [{ name: 'group1-shard1of1.bin', data: good.shards[0].data.slice(0, 10) }] },
          /size|bytes|short|shard/i],
      ];
      for (const [source, pattern] of cases) {
        await assert.rejects(session.loadModel(source, { preprocess: 'none' }), (error) => {
          assert.ok(error instanceof Error);
          assert.match(error.message, pattern);
          assert.match(error.message, /^cannot load the model from /);
          return true;
        });
      }
      await assert.rejects(session.loadModel(good, { preprocess: 'sepia' }), /sepia/);
      const model = await loadGolden(session, 'seq_small');
      const input = readNpy(`${GOLDENS}/models/seq_small/input.npy`);
      const pixels = batchImage(input, 0);
      await assert.rejects(model.explain(pixels, { method: 'no-such-method' }), /no-such-method/);
      await assert.rejects(model.explain(pixels, { target: 10000 }), /target/);
      await assert.rejects(model.explain(pixels, { method: 'grad-cam', layer: 'nowhere' }), /nowhere/);
      await assert.rejects(model.explain(pixels, { method: 'integrated-gradients', steps: 0 }), /steps/);
      const nan = { ...pixels, data: pixels.data.slice() };
      nan.data[5] = NaN;
      await assert.rejects(model.classify(nan), /NaN/);
      await assert.rejects(model.classify({ width: 3, height: 3, data: new Uint8Array(7) }), /values/);
      await assert.rejects(model.classify(new Uint8Array([1, 2, 3, 4])), /image|decode|format/i);
      const [best] = await model.classify(pixels, { top: 1 });
      const probs = slice(readNpy(`${GOLDENS}/models/seq_small/probs.npy`), 0);
      assert.equal(best.index, probs.indexOf(Math.max(...probs)));
      await model.free();
      await assert.rejects(model.classify(pixels), /freed/);
    });
  });
}

test('labels: arrays, objects and files give classify its names', async () => {
  const session = await Saliency.create({ worker: false, threads: 1 });
  try {
    const { json, shards } = goldenModel('seq_small');
    const names = ['zero', 'one', 'two', 'three', 'four'];
    const input = readNpy(`${GOLDENS}/models/seq_small/input.npy`);
    const byArray = await session.loadModel({ json, shards }, { preprocess: 'none', labels: names });
    const [top] = await byArray.classify(batchImage(input, 0), { top: 1 });
    assert.equal(top.label, names[top.index]);
    const byObject = await session.loadModel({ json, shards }, { preprocess: 'none', labels: { [top.index]: 'only' } });
    assert.equal((await byObject.classify(batchImage(input, 0), { top: 1 }))[0].label, 'only');
    assert.equal(byObject.label(top.index === 0 ? 1 : 0), null);
    const none = await session.loadModel(`${GOLDENS}/models/seq_small/model.json`, { preprocess: 'none' });
    assert.equal(none.labels, null, 'no labels.json beside this model');
    assert.equal(readFileSync(`${GOLDENS}/models/seq_small/model.json`, 'utf8'), json);
  } finally {
    session.dispose();
  }
});
