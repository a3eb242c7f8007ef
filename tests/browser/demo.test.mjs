// The demo page (demo/, served by scripts/serve.mjs) in headless Chromium,
// driven through its own controls as a visitor would: ResNet50 loads, the cat
// photo is classified as a cat, every method draws a map that is not blank,
// a SmoothGrad run can be cancelled, the compare grid fills, the page works
// at phone width and from the keyboard, and without cross-origin isolation it
// falls back to one thread.  Screenshots go to test-output/browser/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';

import { METHODS } from '../../web/index.js';
import {
  ASSETS, DESKTOP, OUTPUT_DIR, assertShowsAMap, decodeInPage, launchDemoBrowser, meanDifference,
  meanLuminanceIn, readCanvas, seenCounts, waitForClassification, waitForReady, waitForRunEnd,
} from './helpers/browser.mjs';

// ImageNet's domestic cats: tabby, tiger cat, Persian, Siamese, Egyptian cat.
const CAT_CLASSES = [281, 282, 283, 284, 285];

// Cheap settings for every run the tests start (the controls a method does not use are hidden).
const CHEAP = { '#smooth-samples': '0', '#steps': '8', '#window': '32', '#stride': '32' };

// Where the cat's head is in cat.jpg (a square photo, so the model sees all
// of it), in fractions of the width and height, judged by eye; and the strips
// along the top and right edges, which show only the blurred window behind.
const CAT_HEAD = { left: 0.35, right: 0.7, top: 0.12, bottom: 0.45 };
const TOP_EDGE = { left: 0, right: 1, top: 0, bottom: 0.08 };
const RIGHT_EDGE = { left: 0.9, right: 1, top: 0, bottom: 0.6 };

const MODEL_LOAD_MS = 180_000;
const RUN_MS = 300_000;
const COMPARE_MS = 540_000; // below node --test's 600 s per test in scripts/test.sh

let browser;
let demo;
let labels; // ImageNet's class names by index

before(async () => {
  browser = await launchDemoBrowser();
  labels = JSON.parse(readFileSync(`${ASSETS}/resnet50/labels.json`, 'utf8'));
});
after(async () => {
  await browser?.close();
});
afterEach(() => {
  demo?.assertNoPageErrors();
});

async function setControls(page, values) {
  for (const [selector, value] of Object.entries(values)) {
    const control = page.locator(selector);
    if (await control.isVisible()) await control.fill(value);
  }
}

// Clicks a sample photo and returns its top-5 as the page shows it.
async function classifyPhoto(page, photo) {
  const before = await seenCounts(page);
  await page.click(`#gallery [data-photo="${photo}"]`);
  await waitForClassification(page, before, RUN_MS);
  return page.locator('#top5 > li').evaluateAll((items) => items.map((item) => ({
    index: Number(item.dataset.classIndex),
    probability: Number(item.dataset.probability),
    text: item.querySelector('button')?.textContent ?? '',
    pressed: item.querySelector('button')?.getAttribute('aria-pressed'),
  })));
}

// Runs `method` with the cheap settings, started by a click on #explain (or
// by `start`), and waits for its result; returns the result's time text.
async function explain(page, method, start = () => page.click('#explain')) {
  await page.selectOption('#method', method);
  await setControls(page, CHEAP);
  const before = await seenCounts(page);
  await start();
  await waitForRunEnd(page, before, RUN_MS);
  assert.equal((await page.locator('#error').textContent()).trim(), '', `${method}: the page shows an error`);
  const results = page.locator('#results');
  assert.equal(await results.getAttribute('data-method'), method);
  assert.equal(await results.getAttribute('data-done'), 'true');
  return page.locator('#result-time').textContent();
}

function assertCatOnTop(top5) {
  assert.equal(top5.length, 5, 'five classes');
  const [first] = top5;
  assert.ok(CAT_CLASSES.includes(first.index), `the first class is ${first.index} (${labels[first.index]})`);
  const words = labels[first.index].toLowerCase().split('_');
  assert.ok(words.every((word) => first.text.toLowerCase().includes(word)),
    `the first button '${first.text}' names ${labels[first.index]}`);
}

async function assertMapsDrawn(page, what) {
  const grayscale = await readCanvas(page, '#grayscale-canvas');
  assertShowsAMap(grayscale, `${what}: #grayscale-canvas`);
  assertShowsAMap(await readCanvas(page, '#diverging-canvas'), `${what}: #diverging-canvas`);
  const overlay = await readCanvas(page, '#overlay-canvas');
  assertShowsAMap(overlay, `${what}: #overlay-canvas`);
  const photo = await readCanvas(page, '#photo-canvas');
  if (photo.width === overlay.width && photo.height === overlay.height) {
    assert.ok(meanDifference(photo, overlay) > 1, `${what}: the overlay looks like the bare photo`);
  }
  return grayscale;
}

test('the isolated page is crossOriginIsolated, threaded, and loads ResNet50', async () => {
  demo = await browser.openDemo({ isolation: true });
  const { page } = demo;
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  await waitForReady(page, MODEL_LOAD_MS);
  // The page asks for every core.
  const [threads, cores] = await page.evaluate(() => [document.body.dataset.threads, navigator.hardwareConcurrency]);
  assert.equal(Number(threads), cores, `threads: ${threads}, cores: ${cores}`);
  const isolation = await page.locator('#isolation').textContent();
  assert.match(isolation, /cross-origin isolated/i);
  assert.doesNotMatch(isolation, /not cross-origin isolated/i);
  assert.ok(isolation.includes(threads), `#isolation '${isolation}' gives the ${threads} threads`);
  assert.equal(await page.locator('#model-progress').evaluate((bar) => bar.value), 1);
});

test('a first-time visitor sees the loaded page (screenshot)', async () => {
  await demo.page.screenshot({ path: `${OUTPUT_DIR}/first-visit.png`, fullPage: true });
});

test('the cat photo is classified as a cat, and a top-5 class can be chosen as the target', async () => {
  const { page } = demo;
  const top5 = await classifyPhoto(page, 'cat.jpg');
  assert.equal(await page.evaluate(() => document.body.dataset.classified), 'true');
  assertCatOnTop(top5);
  for (const { probability } of top5) assert.ok(probability > 0 && probability <= 1, `probability ${probability}`);
  for (let i = 1; i < 5; i++) assert.ok(top5[i].probability <= top5[i - 1].probability, 'in descending order');
  for (const { probability, text } of top5) {
    const percent = Number(text.match(/(\d+(?:\.\d+)?)\s*%/)?.[1]);
    assert.ok(Math.abs(percent - 100 * probability) < 1, `'${text}' shows ${100 * probability}%`);
  }
  assert.deepEqual(top5.map(({ pressed }) => pressed === 'true'), [true, false, false, false, false]);

  const buttons = page.locator('#top5 > li button');
  await buttons.nth(1).click();
  assert.deepEqual(await buttons.evaluateAll((all) => all.map((b) => b.getAttribute('aria-pressed') === 'true')),
    [false, true, false, false, false]);
  await buttons.nth(0).click();
  assert.equal(await buttons.nth(0).getAttribute('aria-pressed'), 'true');
});

test('every method draws grayscale, diverging and overlay maps that are not blank', async (t) => {
  const { page } = demo;
  const offered = await page.locator('#method option').evaluateAll((options) => options.map((o) => o.value));
  assert.deepEqual([...offered].sort(), [...METHODS].sort(), 'the picker offers the API\'s METHODS');
  for (const method of offered) {
    const time = await explain(page, method);
    assert.match(time, /\d/, `${method}: #result-time '${time}'`);
    const grayscale = await assertMapsDrawn(page, method);
    t.diagnostic(`${method}: ${time}`);
    if (method === 'grad-cam') {
      // Grad-CAM lights the cat, not the background.
      const head = meanLuminanceIn(grayscale, CAT_HEAD);
      const edges = Math.max(meanLuminanceIn(grayscale, TOP_EDGE), meanLuminanceIn(grayscale, RIGHT_EDGE));
      t.diagnostic(`grad-cam: mean grey ${head.toFixed(1)} on the head, at most ${edges.toFixed(1)} on the edges`);
      assert.ok(head > 3 * edges, `grad-cam: the head's mean ${head} against the edges' ${edges}`);
    }
  }
});

test('cancelling a running SmoothGrad leaves the page usable', async () => {
  const { page } = demo;
  await page.selectOption('#method', 'vanilla');
  await setControls(page, { '#smooth-samples': '200' });
  const before = await seenCounts(page);
  await page.click('#explain');
  await page.waitForFunction(() => document.querySelector('#run-progress').value > 0, null, { timeout: RUN_MS });
  await page.click('#cancel');
  await waitForRunEnd(page, before, 30_000);
  const message = `${await page.locator('#error').textContent()} ${await page.locator('#status').textContent()}`;
  assert.match(message, /cancel|abort/i, '#error or #status says the run was cancelled');
  assert.equal(await page.locator('#cancel').isDisabled(), true, '#cancel is disabled when nothing runs');

  await explain(page, 'vanilla');
  await assertMapsDrawn(page, 'vanilla after a cancel');
});

test('after a vanilla run: screenshots (desktop, phone), the opacity slider, a PNG download', async () => {
  const { page } = demo;
  await explain(page, 'vanilla');
  await page.screenshot({ path: `${OUTPUT_DIR}/after-run.png`, fullPage: true });

  const photo = await readCanvas(page, '#photo-canvas');
  const opacity = await page.locator('#opacity').inputValue();
  await page.locator('#opacity').fill('0');
  const transparent = meanDifference(photo, await readCanvas(page, '#overlay-canvas'));
  await page.locator('#opacity').fill('1');
  const opaque = meanDifference(photo, await readCanvas(page, '#overlay-canvas'));
  await page.locator('#opacity').fill(opacity);
  assert.ok(transparent < 1, `at opacity 0 the overlay is the photo (mean difference ${transparent})`);
  assert.ok(opaque > 10, `at opacity 1 the overlay is the map (mean difference ${opaque})`);

  const grayscale = await readCanvas(page, '#grayscale-canvas');
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.click('#results [data-download="grayscale"]')]);
  assert.match(download.suggestedFilename(), /\.png$/);
  const png = readFileSync(await download.path());
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
  const decoded = await decodeInPage(page, png, 'image/png');
  assert.ok(meanDifference(decoded, grayscale) < 0.5, 'the PNG holds the grayscale canvas\'s pixels');

  await page.setViewportSize({ width: 360, height: 780 });
  try {
    const { scrollWidth, width, overflowing } = await page.evaluate(() => ({
      scrollWidth: document.scrollingElement.scrollWidth,
      width: innerWidth,
      // The innermost elements that stick out, to name in a failure.
      overflowing: [...document.body.querySelectorAll('*')]
        .filter((element) => element.getBoundingClientRect().right > innerWidth + 1 &&
          ![...element.children].some((child) => child.getBoundingClientRect().right > innerWidth + 1))
        .slice(0, 5)
        .map((element) => `${element.localName}${element.id ? `#${element.id}` : ''}.${element.className}`),
    }));
    await page.screenshot({ path: `${OUTPUT_DIR}/phone.png`, fullPage: true });
    assert.ok(scrollWidth <= width + 1,
      `no horizontal overflow at 360 px: scrollWidth ${scrollWidth}; sticking out: ${overflowing.join(', ')}`);
  } finally {
    await page.setViewportSize(DESKTOP);
  }
});

test('compare all methods fills the grid for the cat photo (screenshot)', async (t) => {
  const { page } = demo;
  const before = await seenCounts(page);
  await page.click('#compare');
  await page.waitForSelector('#compare-grid[data-done="true"]', { timeout: COMPARE_MS });
  await waitForRunEnd(page, before, RUN_MS);
  const figures = page.locator('#compare-grid figure');
  const methods = await figures.evaluateAll((all) => all.map((figure) => figure.dataset.method));
  assert.deepEqual([...methods].sort(), [...METHODS].sort(), 'one figure per method');
  for (let i = 0; i < methods.length; i++) {
    const figure = figures.nth(i);
    assert.equal(await figure.getAttribute('data-state'), 'done', methods[i]);
    const caption = await figure.locator('figcaption').textContent();
    assert.match(caption, /\d/, `${methods[i]}: a time in the caption`);
    t.diagnostic(caption);
    assertShowsAMap(await readCanvas(page, `#compare-grid figure[data-method="${methods[i]}"] canvas`),
      `compare grid: ${methods[i]}`);
  }
  await page.screenshot({ path: `${OUTPUT_DIR}/compare-grid-cat.png`, fullPage: true });
});

test('the controls have labels, and the keyboard reaches and presses Explain', async () => {
  const { page } = demo;
  const controls = ['#method', '#smooth-samples', '#smooth-noise', '#steps', '#baseline', '#window', '#stride',
    '#layer', '#opacity', '#file-input'];
  for (const selector of controls) {
    const label = await page.locator(selector).evaluate((control) =>
      (control.labels?.[0]?.textContent || control.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim());
    assert.notEqual(label, '', `${selector} has a label`);
    const labelled = await page.getByLabel(label).evaluateAll((all) => all.map((control) => `#${control.id}`));
    assert.ok(labelled.includes(selector), `getByLabel('${label}') finds ${selector}: ${labelled}`);
  }

  await page.selectOption('#method', 'vanilla');
  await setControls(page, CHEAP);
  await page.evaluate(() => document.activeElement?.blur());
  let focused = '';
  for (let presses = 0; presses < 100 && focused !== 'explain'; presses++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.id ?? '');
  }
  assert.equal(focused, 'explain', 'Tab reaches #explain');
  await explain(page, 'vanilla', () => page.keyboard.press('Enter'));
});

test('without cross-origin isolation the page runs single-threaded and still explains', async () => {
  await demo.close();
  demo = await browser.openDemo({ isolation: false });
  const { page } = demo;
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  await waitForReady(page, MODEL_LOAD_MS);
  const isolation = await page.locator('#isolation').textContent();
  assert.match(isolation, /not cross-origin isolated/i);
  assert.match(isolation, /single-threaded/i);
  assert.equal(await page.evaluate(() => document.body.dataset.threads), '1');
  assertCatOnTop(await classifyPhoto(page, 'cat.jpg'));
  await explain(page, 'vanilla');
  await assertMapsDrawn(page, 'vanilla, single-threaded');
});
