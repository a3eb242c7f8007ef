// The Node CLI (bin/saliency.js, on the wasm build) against the native CLI
// (SAL_NATIVE_CLI, default build/saliency), the independent reference here:
// the same flags must give the same exit status, the same error lines, the
// same JSON and masks within 1e-4 of the largest value, for every method,
// on a small golden model and a sample photo.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { createEngine } from '../../web/engine.js';
import { ASSETS, GOLDENS, NATIVE_CLI, NATIVE_ENV, PHOTOS, REPO, maxRelativeDifference, parseNpy } from './helpers/goldens.mjs';

const execFileAsync = promisify(execFile);
// A hung child is killed (and its test fails) instead of stalling the suite.
const run = (file, args, options = {}) => execFileAsync(file, args, { timeout: 300_000, ...options });
const NODE_CLI = `${REPO}bin/saliency.js`;
const MODEL = `${GOLDENS}/models/seq_small/model.json`;
const PHOTO = `${PHOTOS}/chelsea.png`;

async function saliency(which, args) {
  const [file, argv] = which === 'native' ? [NATIVE_CLI, args] : [process.execPath, [NODE_CLI, ...args]];
  try {
    const { stdout, stderr } = await run(file, argv, { maxBuffer: 1 << 24, env: NATIVE_ENV });
    return { status: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { status: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

// Scores within 1e-4 of the score's size; the gap percentage (ill-conditioned
// when F(x) - F(x') is tiny) must follow from the compared fields.
function assertJsonClose(got, want, what) {
  assert.deepEqual(Object.keys(got), Object.keys(want), `${what}: the same fields`);
  const scale = Math.max(1, Math.abs(want.score));
  for (const [key, value] of Object.entries(want)) {
    if (key === 'completeness_gap_percent') {
      const percent = (100 * got.completeness_gap) / Math.abs(got.score_difference);
      assert.ok(Math.abs(got[key] - percent) <= 1e-6 * Math.abs(percent), `${what}: ${key}`);
    } else if (typeof value === 'number' && !Number.isInteger(value)) {
      assert.ok(Math.abs(got[key] - value) <= 1e-4 * scale, `${what}: ${key} ${got[key]} vs ${value}`);
    } else {
      assert.deepEqual(got[key], value, `${what}: ${key}`);
    }
  }
}

describe('the Node CLI does what the native CLI does', () => {
  let dir;
  let engine;
  before(async () => {
    assert.ok(existsSync(NATIVE_CLI), `the native CLI is needed at ${NATIVE_CLI} (build it, or set SAL_NATIVE_CLI)`);
    dir = mkdtempSync(`${tmpdir()}/saliency-cli-`);
    engine = await createEngine({ variant: 'simd', threads: 1 });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    engine.dispose();
  });

  test('classify: the same ranking', async () => {
    const args = ['classify', '--model', MODEL, '--image', PHOTO, '--preprocess', 'none', '--top', '4'];
    const native = await saliency('native', args);
    const node = await saliency('node', args);
    assert.equal(native.status, 0, native.stderr);
    assert.equal(node.status, 0, node.stderr);
    const want = JSON.parse(native.stdout);
    const got = JSON.parse(node.stdout);
    assert.deepEqual(got.map((r) => r.index), want.map((r) => r.index));
    want.forEach((r, i) => assert.ok(Math.abs(got[i].score - r.score) <= 1e-5, `score ${i}`));
    assert.equal(node.stdout.split('\n').length, native.stdout.split('\n').length, 'the same layout');
  });

  const methods = [
    ['vanilla'], ['gradient-x-input'], ['guided-backprop'], ['deconvnet'],
    ['integrated-gradients', '--steps', '16', '--baseline', 'white', '--quadrature', 'gauss_legendre'],
    ['integrated-gradients', '--steps', '8', '--baseline', `${PHOTOS}/coffee.png`],
    ['vanilla', '--smooth', '6', '--noise', '0.2', '--seed', '7', '--aggregate', 'squared'],
    ['occlusion', '--window', '4', '--stride', '3', '--baseline-value', '128'],
    ['grad-cam'], ['guided-grad-cam', '--layer', 'conv_2'], ['xrai', '--steps', '8'],
    ['blur-ig', '--steps', '32'], ['guided-ig', '--steps', '8'],
  ];
  for (const [method, ...extra] of methods) {
    test(`explain --method ${method} ${extra.join(' ')}`.trim(), async () => {
      const outputs = (who) => ['--npy', `${dir}/${who}.npy`, '--png', `${dir}/${who}.png`];
      const args = ['explain', '--model', MODEL, '--image', PHOTO, '--preprocess', 'tf', '--method', method, ...extra];
      const native = await saliency('native', [...args, ...outputs('native')]);
      const node = await saliency('node', [...args, ...outputs('node')]);
      assert.equal(node.status, native.status, `exit status (native stderr: ${native.stderr}, node: ${node.stderr})`);
      assert.equal(node.stderr, native.stderr);
      if (native.status !== 0) return; // both failed with the same message
      assertJsonClose(JSON.parse(node.stdout), JSON.parse(native.stdout), method);
      const want = parseNpy(readFileSync(`${dir}/native.npy`));
      const got = parseNpy(readFileSync(`${dir}/node.npy`));
      assert.deepEqual(got.shape, want.shape);
      // Float32 rounding: 1e-4 of the largest value, plus 2e-5 of the score for path methods whose
      // mask is a small difference of score-sized terms (Blur IG between nearly equal blurs).
      const score = Math.abs(JSON.parse(native.stdout).score);
      const largest = want.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const difference = maxRelativeDifference(got.data, want.data) * largest;
      assert.ok(difference <= 1e-4 * largest + 2e-5 * score,
        `${method}: masks differ by ${difference} (largest value ${largest}, score ${score})`);
      const wantPicture = engine.decodeImage(readFileSync(`${dir}/native.png`));
      const gotPicture = engine.decodeImage(readFileSync(`${dir}/node.png`));
      assert.deepEqual([gotPicture.width, gotPicture.height], [wantPicture.width, wantPicture.height]);
      const levels = maxRelativeDifference(gotPicture.data, wantPicture.data) * 255;
      assert.ok(levels <= 1.01, `${method}: pictures differ by ${levels} levels`);
    });
  }

  test('explain --png with a colormap over the photo', async () => {
    const args = ['explain', '--model', MODEL, '--image', PHOTO, '--preprocess', 'tf', '--colormap', 'inferno',
      '--overlay', '--alpha', '0.3', '--percentile', '95'];
    const native = await saliency('native', [...args, '--png', `${dir}/native.png`]);
    const node = await saliency('node', [...args, '--png', `${dir}/node.png`]);
    assert.equal(native.status, 0, native.stderr);
    assert.equal(node.status, 0, node.stderr);
    const want = engine.decodeImage(readFileSync(`${dir}/native.png`));
    const got = engine.decodeImage(readFileSync(`${dir}/node.png`));
    let worst = 0;
    for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]));
    assert.ok(worst <= 2, `pictures differ by ${worst} levels`);
  });

  // --original-size and --xrai-top: the same PNG bytes where the picture does not
  // depend on float rounding (XRAI's 0/1 regions), else within a level.  XRAI has
  // one region on the small model's 12 x 12 input, many on the ResNet50's.
  const RESNET = `${ASSETS}/resnet50/model.json`;
  const pictureCases = [
    [MODEL, ['--method', 'grad-cam', '--original-size', '--colormap', 'gray'], 'levels'],
    [MODEL, ['--method', 'grad-cam', '--original-size', '--overlay', '--colormap', 'inferno', '--alpha', '0.6'],
      'levels'],
    [MODEL, ['--method', 'xrai', '--steps', '8', '--xrai-top', '30', '--original-size', '--overlay', '--colormap',
      'gray'], 'bytes'],
    [RESNET, ['--preprocess', 'caffe', '--method', 'xrai', '--steps', '2', '--xrai-top', '20', '--overlay',
      '--colormap', 'jet', '--alpha', '0.5'], 'bytes'],
    [RESNET, ['--preprocess', 'caffe', '--method', 'xrai', '--steps', '2', '--xrai-top', '40', '--original-size',
      '--colormap', 'gray'], 'bytes'],
    [MODEL, ['--original-size'], 'levels'],
    [MODEL, ['--method', 'vanilla', '--original-size', '--overlay', '--colormap', 'viridis'], 'levels'],
  ];
  for (const [model, extra, compare] of pictureCases) {
    test(`explain --png ${extra.join(' ')}${model === RESNET ? ' (ResNet50)' : ''}`, async () => {
      const args = ['explain', '--model', model, '--image', PHOTO, '--preprocess', 'tf', ...extra];
      const native = await saliency('native', [...args, '--png', `${dir}/native.png`]);
      const node = await saliency('node', [...args, '--png', `${dir}/node.png`]);
      assert.equal(native.status, 0, native.stderr);
      assert.equal(node.status, 0, node.stderr);
      const wantBytes = readFileSync(`${dir}/native.png`);
      const gotBytes = readFileSync(`${dir}/node.png`);
      const want = engine.decodeImage(wantBytes);
      const got = engine.decodeImage(gotBytes);
      if (extra.includes('--original-size')) assert.deepEqual([want.width, want.height], [451, 300], 'photo size');
      if (compare === 'bytes') {
        assert.ok(Buffer.compare(gotBytes, wantBytes) === 0, 'the same PNG bytes');
        return;
      }
      assert.deepEqual([got.width, got.height], [want.width, want.height]);
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]));
      assert.ok(worst <= 1, `pictures differ by ${worst} levels`);
    });
  }

  test('--progress draws the native bar on stderr', async () => {
    const args = ['explain', '--model', MODEL, '--image', PHOTO, '--method', 'integrated-gradients', '--steps', '256',
      '--npy', `${dir}/progress.npy`, '--progress'];
    const node = await saliency('node', args);
    assert.equal(node.status, 0, node.stderr);
    assert.match(node.stderr, /^\rexplaining \[[#-]{30}\] +\d+%.*\rexplaining \[#{30}\] 100%\n$/s);
  });

  const bad = [
    [],
    ['frobnicate'],
    ['explain', '--model', MODEL, '--image', PHOTO],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--method', 'nope'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--steps', '0'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--target', 'x'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--target', '99'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--alpha', '2'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--seed', '-1'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--png', `${dir}/x.png`, '--colormap', 'rainbow'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--baseline', `${dir}/none.png`],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/no/such/dir/x.npy`],
    ['explain', '--model', MODEL, '--image', PHOTO, '--npy', `${dir}/x.npy`, '--method', 'grad-cam', '--layer', 'nope'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--png', `${dir}/x.png`, '--xrai-top', '30'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--png', `${dir}/x.png`, '--method', 'xrai', '--xrai-top', '101'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--png', `${dir}/x.png`, '--method', 'xrai', '--xrai-top', 'x'],
    ['explain', '--model', MODEL, '--image', PHOTO, '--png', `${dir}/x.png`, '--original-size', '1'],
    ['explain', '--bogus', '1'],
    ['classify', '--threads', '999'],
    ['classify', '--model', MODEL, '--image', PHOTO, '--top', '0'],
    ['classify', '--model', MODEL, '--image', PHOTO, 'stray'],
    ['classify', '--model', MODEL, '--image', PHOTO, '--preprocess', 'sepia'],
    ['classify', '--model', MODEL, '--image', PHOTO, '--mean', '1,2'],
    ['classify', '--model', MODEL, '--image', PHOTO, '--std', '0'],
    ['classify', '--model', MODEL, '--image', PHOTO, '--channel-order', 'gbr'],
    ['classify', '--model', `${dir}/none/model.json`, '--image', PHOTO],
    ['classify', '--model', MODEL, '--image', `${dir}/none.png`],
    ['classify', '--model', MODEL, '--image', `${GOLDENS}/models/seq_small/layer.txt`],
    ['classify', '--model', `${GOLDENS}/models/seq_small/layer.txt`, '--image', PHOTO],
    ['classify', '--image', PHOTO],
    ['classify', '--model', `${GOLDENS}/models/mobile_se/model.json`, '--image', PHOTO],
  ];
  test('bad flags and files: exit status 1 and the native error line', async () => {
    for (const args of bad) {
      const native = await saliency('native', args);
      const node = await saliency('node', args);
      assert.equal(native.status, 1, `native ${args.join(' ')}`);
      assert.equal(node.status, 1, `node ${args.join(' ')}: ${node.stderr}`);
      assert.match(node.stderr, /^saliency: .+\n$/);
      assert.equal(node.stderr, native.stderr, args.join(' '));
      assert.equal(node.stdout, '');
    }
  });

  test('--help', async () => {
    const node = await saliency('node', ['--help']);
    assert.equal(node.status, 0);
    const native = await saliency('native', ['--help']);
    for (const flag of new Set(native.stdout.match(/--[a-z-]+/g))) {
      assert.ok(node.stdout.includes(flag), `${flag} documented`);
    }
  });
});
