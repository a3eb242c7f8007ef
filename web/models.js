// models.js - reading a TF.js layers model (model.json + weight shards) and
// its class labels from wherever they are:
//   a URL of model.json (shards fetched relative to it, progress by bytes),
//   Files picked in an <input type=file multiple> (the .json and its shards),
//   in-memory buffers { json, shards: [{ name, data }] | { name: data } },
//   in Node a file path (shards read from the same folder).
// The result is what the engine loads: { json: string, shards: [{ name, data: Uint8Array }] }.

import { abortError } from './backend.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const decoder = new TextDecoder();

const SYSTEM_ERRORS = {
  ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory', EROFS: 'Read-only file system', ENOSPC: 'No space left on device',
  EPERM: 'Operation not permitted', EMFILE: 'Too many open files',
};

// A Node file error worded as the C library words it (strerror).
export function fileErrorMessage(verb, path, error) {
  return `cannot ${verb} '${path}': ${SYSTEM_ERRORS[error?.code] ?? error?.message ?? error}`;
}

// A file's bytes in Node, or an Error worded as the C library's.
export async function readFileBytes(path) {
  const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new Error(fileErrorMessage('open', path, error));
  }
}

// Where a model, image or labels string/URL points: a file path in Node
// (file: URLs included), else a URL (relative ones against the page).
export async function locate(source) {
  const text = String(source);
  if (!isNode || /^(https?|data|blob):/i.test(text)) return { url: new URL(text, globalThis.location?.href) };
  if (!text.startsWith('file:')) return { path: text };
  const { fileURLToPath } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:url');
  return { path: fileURLToPath(text) };
}

// fetch() whose failures are Errors naming the URL (an abort stays an AbortError).
export async function fetchOk(url, signal) {
  let response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new Error(`could not fetch ${url}: ${error.message}`);
  }
  if (!response.ok) throw new Error(`fetching ${url} failed: HTTP ${response.status} ${response.statusText}`);
  return response;
}

function bytesOf(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`${what}: expected bytes (ArrayBuffer, Uint8Array or Buffer)`);
}

function textOf(json, what) {
  if (typeof json === 'string') return json;
  if (json instanceof ArrayBuffer || ArrayBuffer.isView(json)) return decoder.decode(bytesOf(json, what));
  if (json && typeof json === 'object') return JSON.stringify(json);
  throw new TypeError(`${what}: model.json must be a string, bytes or a parsed object`);
}

// The shard file names listed in model.json's weightsManifest, and the bytes
// they should hold (for progress; 0 when the manifest does not tell).
// Text that is not JSON lists nothing here: the library's loader then names
// the problem (with the line and column).
export function manifestOf(jsonText) {
  let parsed;
  try {
    parsed = JSON.parse(jsonText);
  } catch {
    return { paths: [], bytes: 0 };
  }
  const groups = Array.isArray(parsed?.weightsManifest) ? parsed.weightsManifest : [];
  const paths = [];
  let bytes = 0;
  for (const group of groups) {
    for (const path of Array.isArray(group?.paths) ? group.paths : []) if (typeof path === 'string') paths.push(path);
    for (const weight of Array.isArray(group?.weights) ? group.weights : []) bytes += weightBytes(weight);
  }
  return { paths, bytes };
}

const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function weightBytes(weight) {
  const dtype = weight?.quantization?.dtype ?? weight?.dtype;
  const count = Array.isArray(weight?.shape) ? weight.shape.reduce((a, b) => a * b, 1) : 0;
  return (DTYPE_BYTES[dtype] ?? 0) * (Number.isFinite(count) ? count : 0);
}

// Counts bytes as they arrive and reports the fraction of `total`.
function byteCounter(total, onProgress) {
  let done = 0;
  return (bytes) => {
    done += bytes;
    if (onProgress && total > 0) onProgress(Math.min(1, done / total));
  };
}

async function fetchBytes(url, { signal, count }) {
  const response = await fetchOk(url, signal);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    count(bytes.length);
    return bytes;
  }
  const chunks = [];
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
    count(value.length);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

async function fromUrl(url, { signal, onProgress }) {
  const json = decoder.decode(await fetchBytes(url, { signal, count: () => {} }));
  const { paths, bytes } = manifestOf(json);
  const count = byteCounter(bytes, onProgress);
  const shards = await Promise.all(paths.map(async (name) =>
    ({ name, data: await fetchBytes(new URL(name, url), { signal, count }) })));
  return { json, shards };
}

async function fromPath(path, { signal, onProgress }) {
  const { dirname, join } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:path');
  const read = async (file) => {
    if (signal?.aborted) throw abortError();
    return readFileBytes(file);
  };
  const json = decoder.decode(await read(path));
  const { paths, bytes } = manifestOf(json);
  const count = byteCounter(bytes, onProgress);
  const shards = [];
  for (const name of paths) {
    const data = await read(join(dirname(path), name));
    count(data.length);
    shards.push({ name, data });
  }
  return { json, shards, labelsPath: join(dirname(path), 'labels.json') };
}

function baseName(name) {
  return name.slice(name.lastIndexOf('/') + 1);
}

// Files from an <input multiple>: the model.json (the .json with a
// weightsManifest or modelTopology), its shards by file name, and a labels
// .json among the rest when there is one.
async function fromFiles(files, { signal, onProgress }) {
  const list = [...files];
  const jsons = [];
  for (const file of list) {
    if (file.name?.toLowerCase().endsWith('.json')) jsons.push({ file, text: await file.text() });
  }
  const isModel = ({ text }) => /"(weightsManifest|modelTopology)"/.test(text);
  const model = jsons.find(isModel);
  if (!model) throw new Error(`none of the ${list.length} files is a TF.js model.json`);
  const { paths, bytes } = manifestOf(model.text);
  const byName = new Map(list.map((file) => [baseName(file.name), file]));
  const missing = paths.filter((path) => !byName.has(baseName(path)));
  if (missing.length) throw new Error(`the weight files ${missing.join(', ')} were not among the files picked`);
  const count = byteCounter(bytes, onProgress);
  const shards = [];
  for (const name of paths) {
    if (signal?.aborted) throw abortError();
    const data = new Uint8Array(await byName.get(baseName(name)).arrayBuffer());
    count(data.length);
    shards.push({ name, data });
  }
  const labels = jsons.find((entry) => entry !== model);
  return { json: model.text, shards, labelsText: labels?.text };
}

function fromMemory({ json, shards }) {
  const text = textOf(json, 'model');
  let list = [];
  if (Array.isArray(shards)) {
    list = shards.map(({ name, data }, i) => ({ name, data: bytesOf(data, `shard ${name ?? i}`) }));
  } else if (shards && typeof shards === 'object') {
    list = Object.entries(shards).map(([name, data]) => ({ name, data: bytesOf(data, `shard ${name}`) }));
  }
  for (const [i, shard] of list.entries()) {
    if (typeof shard.name !== 'string') throw new TypeError(`model: shard ${i} has no name`);
  }
  return { json: text, shards: list };
}

function isFileList(source) {
  const list = Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList);
  return list && [...source].every((file) => typeof file?.name === 'string' && typeof file?.arrayBuffer === 'function');
}

export async function readModelSource(source, options = {}) {
  if (source instanceof URL || typeof source === 'string') {
    const { path, url } = await locate(source);
    return path ? fromPath(path, options) : fromUrl(url, options);
  }
  if (isFileList(source)) return fromFiles(source, options);
  if (source && typeof source === 'object' && 'json' in source) return fromMemory(source);
  throw new TypeError('loadModel: give a model.json URL or path, the picked Files, or { json, shards }');
}

// Labels: an array of names, an object { "0": "tench", ... }, or JSON text of either.
export function parseLabels(labels, what = 'labels') {
  let value = labels;
  if (typeof labels === 'string') {
    try {
      value = JSON.parse(labels);
    } catch (error) {
      throw new Error(`${what}: not valid JSON (${error.message})`);
    }
  }
  if (Array.isArray(value)) return value.map((name) => (typeof name === 'string' ? name : null));
  if (value && typeof value === 'object') {
    const out = [];
    for (const [key, name] of Object.entries(value)) {
      const index = Number(key);
      if (Number.isInteger(index) && index >= 0 && index < 1e7 && typeof name === 'string') out[index] = name;
    }
    return Array.from(out, (name) => name ?? null);
  }
  throw new TypeError(`${what}: expected an array of names or an object { "0": "name", ... }`);
}

async function readLabelsText(where, signal) {
  const { path, url } = await locate(where);
  if (path) return decoder.decode(await readFileBytes(path));
  return (await fetchOk(url, signal)).text();
}

// The labels asked for, or the ones that come with the model (labels.json
// beside a model path, a labels file among picked Files); null when none.
export async function loadLabels(labels, read, signal) {
  if (labels === false || labels === null) return null;
  if (Array.isArray(labels) || (labels && typeof labels === 'object' && !(labels instanceof URL))) {
    return parseLabels(labels);
  }
  if (typeof labels === 'string' || labels instanceof URL) {
    return parseLabels(await readLabelsText(labels, signal), `labels ${labels}`);
  }
  if (read.labelsText) return parseLabels(read.labelsText, 'labels file');
  if (read.labelsPath) {
    const { access } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    const present = await access(read.labelsPath).then(() => true, () => false);
    if (present) return parseLabels(await readLabelsText(read.labelsPath), `labels ${read.labelsPath}`);
  }
  return null;
}
