// The JavaScript API in a real browser (headless Chromium, from the set-up's
// Debian packages, driven by playwright-core): a page served here loads
// web/index.js as a plain <script type=module>, with and without the COOP/COEP
// headers that make it crossOriginIsolated.  The page runs a small golden
// model from its URL in the default Web Worker, reads every browser image
// kind, draws a canvas, aborts a long run and posts what it saw back; the
// checks are made here.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { launchChromium } from '../browser/helpers/browser.mjs';
import { REPO } from './helpers/goldens.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>saliency</title>
<script type="module">
import { Saliency, visualizeImageGrayscale, toCanvas, toPNG } from '/web/index.js';
const seen = {};
try {
  seen.isolated = globalThis.crossOriginIsolated;
  const s = await Saliency.create({ threads: 2 });
  Object.assign(seen, { variant: s.variant, threads: s.threads, worker: s.usesWorker });
  let loaded = 0;
  const model = await s.loadModel('/tests/goldens/models/seq_small/model.json',
    { preprocess: 'tf', labels: ['a', 'b', 'c', 'd', 'e'], onProgress: (f) => { loaded = f; } });
  seen.model = [model.inputHeight, model.inputWidth, model.numClasses, loaded];
  const image = new ImageData(40, 30);
  for (let i = 0; i < image.data.length; i++) image.data[i] = i % 4 === 3 ? 255 : (i * 37) % 256;
  seen.top = await s.classify(image, { top: 2 });
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [40, 30];
  canvas.getContext('2d').putImageData(image, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  const img = new Image();
  img.src = URL.createObjectURL(blob);
  const offscreen = new OffscreenCanvas(40, 30);
  offscreen.getContext('2d').putImageData(image, 0, 0);
  seen.kinds = {};
  for (const [kind, source] of [['canvas', canvas], ['ImageBitmap', await createImageBitmap(image)], ['Blob', blob],
    ['img', img], ['OffscreenCanvas', offscreen]]) {
    seen.kinds[kind] = await s.classify(source, { top: 2 });
  }
  const mask = await s.explain(image, { method: 'integrated-gradients', steps: 32 });
  seen.mask = [mask.width, mask.height, mask.channels, mask.label, Number.isFinite(mask.completenessGap)];
  const picture = toCanvas(visualizeImageGrayscale(mask), { colormap: 'inferno', overlay: image });
  seen.canvas = [picture.constructor.name, picture.width, picture.height];
  const png = await toPNG(mask, { colormap: 'jet' });
  seen.png = [...png.subarray(0, 4)];
  const controller = new AbortController();
  const started = performance.now();
  try {
    await s.explain(image, { method: 'integrated-gradients', steps: 4096, smoothSamples: 256, signal: controller.signal,
      onProgress: (f) => f > 0 && controller.abort() });
    seen.abort = 'finished';
  } catch (error) {
    seen.abort = [error.name, error instanceof DOMException, performance.now() - started];
  }
  seen.afterAbort = await s.classify(image, { top: 2 });
  try {
    await s.loadModel('/no/such/model.json');
  } catch (error) {
    seen.badModel = error.message;
  }
  s.dispose();
} catch (error) {
  seen.error = error.stack || String(error);
}
await fetch('/__result', { method: 'POST', body: JSON.stringify(seen) });
</script>`;

const TYPES = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
};
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

let chromium;
before(async () => {
  chromium = await launchChromium();
});
after(() => chromium?.close());

// Serves the repository and the page, opens it in a new tab; resolves with what the page posts.
function runPage(isolated) {
  let page;
  let timer;
  const server = createServer(async (request, response) => {
    const headers = isolated ? ISOLATION : {};
    if (request.method === 'POST') {
      let body = '';
      for await (const chunk of request) body += chunk;
      response.end('ok');
      server.emit('result', JSON.parse(body));
      return;
    }
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    if (path === '/') {
      response.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
      response.end(PAGE);
      return;
    }
    if (!/^\/(web|dist|tests\/goldens)\//.test(path) || path.includes('..')) {
      response.writeHead(404, headers).end();
      return;
    }
    try {
      const data = await readFile(`${REPO}${path.slice(1)}`);
      const type = TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
      response.writeHead(200, { ...headers, 'Content-Type': type });
      response.end(data);
    } catch {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = async (error, result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      await page?.close().catch(() => {});
      server.close();
      server.closeAllConnections();
      if (error) reject(error);
      else resolve(result);
    };
    server.on('result', (result) => finish(null, result));
    server.listen(0, '127.0.0.1', async () => {
      timer = setTimeout(() => finish(new Error('the page did not report within 90 s')), 90000);
      try {
        page = await chromium.context.newPage();
        await page.goto(`http://127.0.0.1:${server.address().port}/`, { waitUntil: 'commit' });
      } catch (error) {
        finish(new Error(`cannot open the page in Chromium: ${error.message}`));
      }
    });
  });
}

for (const isolated of [true, false]) {
  test(`in Chromium, ${isolated ? 'crossOriginIsolated: the threaded build' : 'not isolated: the single-threaded build'}`,
    async () => {
      const seen = await runPage(isolated);
      assert.equal(seen.error, undefined, seen.error);
      assert.equal(seen.isolated, isolated);
      assert.deepEqual([seen.variant, seen.threads, seen.worker],
        isolated ? ['simd-threads', 2, true] : ['simd', 1, true]);
      assert.deepEqual(seen.model, [12, 12, 5, 1]);
      assert.equal(seen.top.length, 2);
      assert.equal(seen.top[0].label, 'abcde'[seen.top[0].index]);
      for (const [kind, top] of Object.entries(seen.kinds)) assert.deepEqual(top, seen.top, kind);
      assert.deepEqual(Object.keys(seen.kinds), ['canvas', 'ImageBitmap', 'Blob', 'img', 'OffscreenCanvas']);
      assert.deepEqual(seen.mask, [12, 12, 3, 'abcde'[seen.top[0].index], true]);
      assert.deepEqual(seen.canvas, ['HTMLCanvasElement', 12, 12]);
      assert.deepEqual(seen.png, [0x89, 0x50, 0x4e, 0x47]);
      assert.deepEqual(seen.abort.slice(0, 2), ['AbortError', true]);
      assert.ok(seen.abort[2] < 20000, `the abort took ${seen.abort[2]} ms`);
      assert.deepEqual(seen.afterAbort, seen.top, 'the session works after the abort');
      assert.match(seen.badModel, /^cannot load the model from \/no\/such\/model\.json: .*HTTP 404/);
    });
}
