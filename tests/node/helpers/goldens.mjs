// goldens.mjs - what the API, CLI and package tests share: paths, .npy files,
// the golden models of tests/goldens (written by the PyTorch reference
// tools/*.py), and the native tests' tolerance.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { parseNpy as parseNpyTyped } from '../npy.mjs';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const GOLDENS = `${REPO}tests/goldens`;
export const ASSETS = process.env.SAL_CACHE_DIR ? `${process.env.SAL_CACHE_DIR}/assets` : `${REPO}.cache/assets`;
export const RESNET50 = `${ASSETS}/resnet50/model.json`;
export const PHOTOS = `${ASSETS}/photos`;
export const NATIVE_CLI = process.env.SAL_NATIVE_CLI ?? `${REPO}build/saliency`;
// The native CLI on its portable kernels, the code the wasm build runs: the
// default XNNPACK backend fuses multiply-adds and so rounds differently.
export const NATIVE_ENV = { ...process.env, SAL_BACKEND: 'portable' };

// .npy bytes (a Uint8Array or Buffer) -> { shape, data: Float32Array }, read by tests/node/npy.mjs.
export function parseNpy(bytes) {
  const { shape, data } = parseNpyTyped(bytes);
  return { shape, data: data instanceof Float32Array ? data : Float32Array.from(data) };
}

export function readNpy(path) {
  return parseNpy(readFileSync(path));
}

export function readText(path) {
  return readFileSync(path, 'utf8').trim();
}

// A golden model of tests/goldens/models as in-memory buffers.
export function goldenModel(name) {
  const dir = `${GOLDENS}/models/${name}`;
  const json = readFileSync(`${dir}/model.json`, 'utf8');
  const shards = JSON.parse(json).weightsManifest.flatMap((group) => group.paths)
    .map((path) => ({ name: path, data: new Uint8Array(readFileSync(`${dir}/${path}`)) }));
  return { dir, json, shards };
}

// Image `index` of an (N, H, W, C) batch as float pixels for the API.
export function batchImage(array, index) {
  const [, height, width, channels] = array.shape;
  const size = height * width * channels;
  return { width, height, channels, data: array.data.slice(index * size, (index + 1) * size) };
}

export function slice(array, index) {
  const size = array.data.length / array.shape[0];
  return array.data.subarray(index * size, (index + 1) * size);
}

// The native tests' tolerance: |got - want| <= 1e-4 max|want| + 1e-3 |want|.
// Returns a message naming the worst element, or null when every value passes.
export function compareClose(got, want, { atol = 1e-4, rtol = 1e-3 } = {}) {
  if (got.length !== want.length) return `${got.length} values, expected ${want.length}`;
  let maxWant = 0;
  for (const v of want) maxWant = Math.max(maxWant, Math.abs(v));
  const absolute = atol * maxWant + 1e-7;
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return `value ${i} is ${got[i]}`;
    const ratio = Math.abs(got[i] - want[i]) / (absolute + rtol * Math.abs(want[i]));
    if (ratio > worst) [worst, at] = [ratio, i];
  }
  if (worst <= 1) return null;
  return `worst error ${worst.toPrecision(3)} x tolerance at ${at} of ${want.length}: got ${got[at]}, ` +
    `want ${want[at]} (max |want| ${maxWant.toPrecision(3)})`;
}

// max |a - b| / max |b|
export function maxRelativeDifference(a, b) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
