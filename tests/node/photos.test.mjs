// The ResNet50 of the asset cache through the public API in Node: a photo's
// classes against the PyTorch reference's (tests/goldens/resnet50, written
// by tools/make_goldens.py), every Node image input giving the same answer,
// and aborting long calls (shared-memory flag, worker restart, no worker)
// with the session usable afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { Saliency } from '../../web/index.js';
import { GOLDENS, PHOTOS, RESNET50, goldenModel, readNpy } from './helpers/goldens.mjs';

const CAT = `${PHOTOS}/cat.jpg`;
const CHELSEA = `${PHOTOS}/chelsea.png`;
// Probabilities may move by 5e-4 between JPEG decoders (tests/c/test_resnet50.c); 4 times that.
const PROB_TOLERANCE = 2e-3;

// Mean over 8x8 blocks of a 224x224x3 map: the golden's 28x28x3.
function blockMeans(mask) {
  const out = new Float64Array(28 * 28 * 3);
  for (let y = 0; y < 224; y++) {
    for (let x = 0; x < 224; x++) {
      for (let c = 0; c < 3; c++) out[(((y >> 3) * 28) + (x >> 3)) * 3 + c] += mask.data[(y * 224 + x) * 3 + c] / 64;
    }
  }
  return out;
}

function cosine(a, b) {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

async function expectAbort(promise) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.name, 'AbortError');
    return true;
  });
}

describe('ResNet50 in a worker', () => {
  let session;
  let model;
  before(async () => {
    session = await Saliency.create({ threads: 2 });
    let reports = 0;
    model = await session.loadModel(RESNET50, { preprocess: 'caffe', onProgress: () => reports++ });
    assert.ok(reports > 0, 'loading reports progress by bytes');
  });
  after(() => session.dispose());

  test('the model loads from its path with labels.json beside it', () => {
    assert.deepEqual([model.inputHeight, model.inputWidth, model.channels, model.numClasses], [224, 224, 3, 1000]);
    assert.equal(model.labels.length, 1000);
    assert.ok(model.layers.length > 100);
    assert.equal(typeof model.lastSpatialLayer, 'string');
  });

  test('cat.jpg: the reference top 5 and probabilities', async () => {
    const top5 = readNpy(`${GOLDENS}/resnet50/cat/top5.npy`).data;
    const probs = readNpy(`${GOLDENS}/resnet50/cat/top5_probs.npy`).data;
    const ranking = await session.classify(CAT, { top: 6 });
    assert.equal(ranking.length, 6);
    // The reference's 5th and 6th classes are 0.003 apart in logits: only the first four must keep their order.
    assert.deepEqual(ranking.slice(0, 4).map((r) => r.index), [...top5.slice(0, 4)]);
    for (let k = 0; k < 5; k++) {
      const got = ranking.find((r) => r.index === top5[k]);
      assert.ok(got, `class ${top5[k]} is in the top 6`);
      assert.ok(Math.abs(got.score - probs[k]) <= PROB_TOLERANCE, `class ${top5[k]}: ${got.score} vs ${probs[k]}`);
      assert.equal(got.label, model.labels[top5[k]]);
    }
    assert.equal(ranking[0].label, 'tabby');
  });

  test('cat.jpg: the vanilla gradient of the top class matches the reference', async () => {
    const mask = await session.explain(CAT, { method: 'vanilla' });
    assert.equal(mask.target, readNpy(`${GOLDENS}/resnet50/cat/top5.npy`).data[0]);
    assert.deepEqual([mask.height, mask.width, mask.channels], [224, 224, 3]);
    const similarity = cosine(blockMeans(mask), readNpy(`${GOLDENS}/resnet50/cat/grad_small.npy`).data);
    // The decoders alone bring the reference's own cosine to 0.985 (tests/c/test_resnet50.c).
    assert.ok(similarity >= 0.96, `cosine with the reference ${similarity}`);
  });

  test('an aborted integrated gradients run rejects with AbortError; the session goes on', async () => {
    const controller = new AbortController();
    const fractions = [];
    const run = session.explain(CAT, {
      method: 'integrated-gradients', steps: 256, memoryBudget: 64 << 20, signal: controller.signal,
      onProgress: (fraction) => {
        fractions.push(fraction);
        if (fraction > 0) controller.abort();
      },
    });
    await expectAbort(run);
    assert.ok(fractions.length > 0 && fractions.at(-1) < 0.5, `stopped early (progress ${fractions})`);
    const again = await session.classify(CAT, { top: 1 });
    assert.equal(again[0].index, 281);
    await expectAbort(session.classify(CAT, { signal: AbortSignal.abort() }));
  });
});

// A small model with a very long run: integrated gradients over 4096 steps, 256 SmoothGrad samples.
const LONG_RUN = { method: 'integrated-gradients', steps: 4096, smoothSamples: 256 };

function smallModel(session) {
  const { json, shards } = goldenModel('seq_small');
  return session.loadModel({ json, shards }, { preprocess: 'none' });
}

async function abortMidRun(session, image) {
  const controller = new AbortController();
  const fractions = [];
  await expectAbort(session.explain(image, {
    ...LONG_RUN, signal: controller.signal,
    onProgress: (fraction) => {
      fractions.push(fraction);
      if (fraction > 0) controller.abort();
    },
  }));
  assert.ok(fractions.length > 0 && fractions.at(-1) < 0.1, `stopped early (progress ${fractions})`);
}

describe('a small model', () => {
  test('every Node image input gives the same classes', async () => {
    const session = await Saliency.create({ threads: 2 });
    try {
      await smallModel(session);
      const bytes = readFileSync(CHELSEA);
      const decoded = await session.decodeImage(CHELSEA);
      const pixels = decoded.width * decoded.height;
      const rgb = new Uint8Array(pixels * 3);
      const rgbFloat = new Float32Array(pixels * 3);
      for (let i = 0; i < pixels; i++) {
        for (let c = 0; c < 3; c++) rgb[3 * i + c] = rgbFloat[3 * i + c] = decoded.data[4 * i + c];
      }
      const inputs = {
        path: CHELSEA,
        'file URL': pathToFileURL(CHELSEA),
        Buffer: bytes,
        Uint8Array: new Uint8Array(bytes),
        ArrayBuffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
        'RGBA pixels': decoded,
        'RGB pixels': { width: decoded.width, height: decoded.height, data: rgb },
        'float RGB pixels': { width: decoded.width, height: decoded.height, data: rgbFloat },
      };
      const want = await session.classify(inputs.path, { top: 5 });
      assert.equal(want.length, 5);
      for (const [kind, image] of Object.entries(inputs)) {
        assert.deepEqual(await session.classify(image, { top: 5 }), want, kind);
      }
      assert.ok(bytes.length > 0 && inputs.ArrayBuffer.byteLength === bytes.length,
        'the caller\'s buffers are copied, not taken');
      assert.equal(decoded.data.length, pixels * 4);
      await assert.rejects(session.classify(`${PHOTOS}/no_such_photo.png`), /no_such_photo\.png': No such file/);
    } finally {
      session.dispose();
    }
  });

  test('progress runs from near 0 to 1, in order', async () => {
    const session = await Saliency.create({ threads: 2 });
    try {
      await smallModel(session);
      const fractions = [];
      const mask = await session.explain(CHELSEA, {
        method: 'integrated-gradients', steps: 256, onProgress: (f) => fractions.push(f),
      });
      assert.ok(Number.isFinite(mask.completenessGap));
      assert.ok(fractions.length >= 2, `${fractions.length} reports`);
      assert.equal(fractions.at(-1), 1);
      for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] >= fractions[i - 1]);
    } finally {
      session.dispose();
    }
  });

  test('without shared memory an abort restarts the worker, which gets the models back', async () => {
    const session = await Saliency.create({ threads: 2, sharedMemory: false });
    try {
      const model = await smallModel(session);
      const before = await session.classify(CHELSEA, { top: 3 });
      await abortMidRun(session, CHELSEA);
      assert.deepEqual(await session.classify(CHELSEA, { top: 3 }), before);
      assert.deepEqual(await model.classify(CHELSEA, { top: 3 }), before);
    } finally {
      session.dispose();
    }
  });

  test('without a worker, aborting from onProgress stops the call', async () => {
    const session = await Saliency.create({ worker: false, threads: 2 });
    try {
      await smallModel(session);
      const before = await session.classify(CHELSEA, { top: 3 });
      await abortMidRun(session, CHELSEA);
      assert.deepEqual(await session.classify(CHELSEA, { top: 3 }), before);
    } finally {
      session.dispose();
    }
  });

  test('a shared-memory worker stops the long run too', async () => {
    const session = await Saliency.create({ threads: 2 });
    try {
      await smallModel(session);
      await abortMidRun(session, CHELSEA);
      assert.equal((await session.classify(CHELSEA, { top: 2 })).length, 2);
    } finally {
      session.dispose();
    }
  });
});
