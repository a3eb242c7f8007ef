// browser.mjs - what the browser tests share: the demo server (scripts/serve.mjs)
// and one headless Chromium (Debian's, driven by playwright-core) with a fresh
// profile, pages that record their uncaught errors, and the page-side readers
// the tests check against (canvas pixels, the run state machine).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const ASSETS = process.env.SAL_CACHE_DIR ? `${process.env.SAL_CACHE_DIR}/assets` : `${REPO}.cache/assets`;
export const OUTPUT_DIR = `${REPO}test-output/browser`;
export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const DESKTOP = { width: 1280, height: 900 };

// Everything the tests need on disk, each with the command that provides it.
const PREREQUISITES = [
  [CHROMIUM, 'Debian chromium, which npm run setup installs'],
  [`${ASSETS}/resnet50/model.json`, 'the ResNet50 model, which npm run setup fetches'],
  [`${ASSETS}/resnet50/labels.json`, 'the ImageNet labels, which npm run setup fetches'],
  [`${ASSETS}/photos/cat.jpg`, 'the sample photos, which npm run setup fetches'],
  [`${REPO}dist/saliency-simd-threads.wasm`, 'the threaded WebAssembly build, which npm run build makes'],
  [`${REPO}dist/saliency-simd.wasm`, 'the single-threaded WebAssembly build, which npm run build makes'],
  [`${REPO}demo/index.html`, 'the demo page'],
  [`${REPO}scripts/serve.mjs`, 'the demo server'],
];

export function checkPrerequisites() {
  const missing = PREREQUISITES.filter(([path]) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(`browser tests: missing ${missing.map(([path, what]) => `${what}: ${path}`).join('; ')}`);
  }
  mkdirSync(OUTPUT_DIR, { recursive: true });
}

// Chromium's helper processes may still be writing: retry, and leave a stray temp folder at worst.
function removeProfile(profile) {
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch { /* only a temp folder */ }
}

// Debian's Chromium, headless, with a fresh profile: { context, close() }.
// close() ends the browser and removes the profile.
export async function launchChromium({ viewport = DESKTOP } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`cannot start ${CHROMIUM}: not installed (npm run setup installs it)`);
  const profile = mkdtempSync(`${tmpdir()}/saliency-chromium-`);
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport,
    });
  } catch (error) {
    removeProfile(profile);
    throw new Error(`cannot start ${CHROMIUM}: ${error.message}`);
  }
  async function close() {
    await context.close();
    removeProfile(profile);
  }
  return { context, close };
}

// One Chromium for a whole test file.  openDemo() serves the demo (with or
// without the COOP/COEP headers) and opens it in a new page; close() ends the
// pages, the servers, the browser and its profile.
export async function launchDemoBrowser() {
  checkPrerequisites();
  const { startServer } = await import(`${REPO}scripts/serve.mjs`);
  const { context, close: closeChromium } = await launchChromium();
  const demos = [];

  async function openDemo({ isolation = true } = {}) {
    const server = await startServer({ port: 0, isolation, assets: ASSETS });
    const page = await context.newPage();
    const demo = recordErrors(page, server);
    demos.push(demo);
    await page.goto(server.url);
    await watchPage(page);
    return demo;
  }

  async function close() {
    for (const demo of demos) await demo.close();
    await closeChromium();
  }

  return { openDemo, close };
}

// Records the page's uncaught errors and console errors (the latter only as
// context for failures: a missing favicon logs one too).
function recordErrors(page, server) {
  const pageErrors = [];
  const consoleErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.stack || error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  let closed = false;
  return {
    page,
    url: server.url,
    pageErrors,
    consoleErrors,
    assertNoPageErrors() {
      assert.deepEqual(pageErrors, [], `uncaught errors in the page (console errors: ${consoleErrors.join(' | ')})`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await page.close().catch(() => {});
      await server.close();
    },
  };
}

// Waits for body[data-state] to leave `loading` and asserts it is `ready`
// (an `error` state fails at once, with the page's #error text).
export async function waitForReady(page, timeout) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout });
  const state = await page.evaluate(() => document.body.dataset.state);
  const error = await page.locator('#error').textContent();
  assert.equal(state, 'ready', `the page is in state '${state}': ${error}`);
}

// Starts counting, in the page, the times body[data-state] leaves `running`
// (a run ended) and the writes of body[data-classified] (a classification
// was shown), so that a change between two polls is still seen.
export async function watchPage(page) {
  await page.evaluate(() => {
    if (window.__seen) return;
    const seen = { runsEnded: 0, classifiedWrites: 0 };
    window.__seen = seen;
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.attributeName === 'data-state' && record.oldValue === 'running') seen.runsEnded += 1;
        if (record.attributeName === 'data-classified') seen.classifiedWrites += 1;
      }
    }).observe(document.body, { attributes: true, attributeFilter: ['data-state', 'data-classified'],
      attributeOldValue: true });
  });
}

export async function seenCounts(page) {
  return page.evaluate(() => ({ ...window.__seen }));
}

// Waits until a run that ended after `before` (a seenCounts() result) has
// brought the page back to `ready`.
export async function waitForRunEnd(page, before, timeout) {
  await page.waitForFunction((count) => window.__seen.runsEnded > count && document.body.dataset.state === 'ready',
    before.runsEnded, { timeout });
}

// Waits until body[data-classified] was written after `before` and is "true".
export async function waitForClassification(page, before, timeout) {
  await page.waitForFunction((count) => window.__seen.classifiedWrites > count &&
    document.body.dataset.classified === 'true', before.classifiedWrites, { timeout });
}

// A canvas's pixels read back in the page: { width, height, rgba: Uint8Array }.
export async function readCanvas(page, selector) {
  const { width, height, base64 } = await page.evaluate((query) => {
    const source = document.querySelector(query);
    if (!(source instanceof HTMLCanvasElement)) return { width: 0, height: 0, base64: '' };
    // A copy reads any canvas, whatever context it was drawn with.
    const copy = document.createElement('canvas');
    [copy.width, copy.height] = [source.width, source.height];
    const context = copy.getContext('2d');
    context.drawImage(source, 0, 0);
    const bytes = context.getImageData(0, 0, copy.width, copy.height).data;
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { width: copy.width, height: copy.height, base64: btoa(binary) };
  }, selector);
  return { width, height, rgba: new Uint8Array(Buffer.from(base64, 'base64')) };
}

// Encoded image bytes decoded by the page's own decoder: { width, height, rgba }.
export async function decodeInPage(page, bytes, type) {
  const { width, height, base64 } = await page.evaluate(async ({ data, mime }) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:${mime};base64,${data}`)).blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d');
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let binary = '';
    for (let i = 0; i < pixels.length; i += 0x8000) binary += String.fromCharCode(...pixels.subarray(i, i + 0x8000));
    return { width: bitmap.width, height: bitmap.height, base64: btoa(binary) };
  }, { data: Buffer.from(bytes).toString('base64'), mime: type });
  return { width, height, rgba: new Uint8Array(Buffer.from(base64, 'base64')) };
}

// Rec. 709 luma of every pixel, 0..255.
export function luminance({ width, height, rgba }) {
  const luma = new Float64Array(width * height);
  for (let i = 0; i < luma.length; i++) {
    luma[i] = 0.2126 * rgba[4 * i] + 0.7152 * rgba[4 * i + 1] + 0.0722 * rgba[4 * i + 2];
  }
  return luma;
}

// What "blank" and "uniform" are judged on: distinct colours, whether any
// pixel is visible / not black, and the spread of the luma.
export function pictureStats(picture) {
  const { rgba } = picture;
  const colours = new Set();
  let opaque = 0;
  let lit = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    colours.add((rgba[i] << 24 | rgba[i + 1] << 16 | rgba[i + 2] << 8 | rgba[i + 3]) >>> 0);
    if (rgba[i + 3] > 0) opaque += 1;
    if (rgba[i] + rgba[i + 1] + rgba[i + 2] > 0) lit += 1;
  }
  const luma = luminance(picture);
  const mean = luma.reduce((sum, value) => sum + value, 0) / luma.length;
  const variance = luma.reduce((sum, value) => sum + (value - mean) ** 2, 0) / luma.length;
  const lumaLevels = new Set(Array.from(luma, Math.round)).size;
  return { pixels: luma.length, colours: colours.size, opaque, lit, mean, std: Math.sqrt(variance), lumaLevels };
}

// Fails unless the picture has pixels, is not one colour / all transparent /
// all black, and its luma varies (std above 3 of 255, at least 8 levels).
export function assertShowsAMap(picture, what) {
  assert.ok(picture.width > 0 && picture.height > 0, `${what}: no canvas or an empty one`);
  const stats = pictureStats(picture);
  const summary = `${what}: ${JSON.stringify(stats)}`;
  assert.ok(stats.colours > 1, `${summary}: one colour`);
  assert.ok(stats.opaque > 0, `${summary}: fully transparent`);
  assert.ok(stats.lit > 0, `${summary}: all black`);
  assert.ok(stats.std > 3, `${summary}: uniform`);
  assert.ok(stats.lumaLevels >= 8, `${summary}: too few grey levels`);
  return stats;
}

// Mean luma over a box given in fractions of the picture's size.
export function meanLuminanceIn(picture, { left, right, top, bottom }) {
  const luma = luminance(picture);
  const [x0, x1] = [Math.floor(left * picture.width), Math.ceil(right * picture.width)];
  const [y0, y1] = [Math.floor(top * picture.height), Math.ceil(bottom * picture.height)];
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += luma[y * picture.width + x];
  return sum / ((x1 - x0) * (y1 - y0));
}

// Mean absolute difference of two same-sized pictures' RGB, 0..255.
export function meanDifference(a, b) {
  assert.deepEqual([a.width, a.height], [b.width, b.height], 'pictures of different sizes');
  let sum = 0;
  for (let i = 0; i < a.rgba.length; i += 4) {
    for (let c = 0; c < 3; c++) sum += Math.abs(a.rgba[i + c] - b.rgba[i + c]);
  }
  return sum / (3 * a.width * a.height);
}
