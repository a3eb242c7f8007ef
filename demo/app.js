// app.js - the demo page: ResNet50 explained in the browser with the
// library's published API (web/index.js), as any web app would use it.
//
// body[data-state]: loading -> ready -> running (an explanation or the
// compare grid) -> ready; error when the model cannot be loaded.
import { BASELINES, COLORMAPS, METHODS, Saliency, resizeCrop } from '../web/index.js';
import { markChosen, prettyLabel, top5Items } from './classes.js';
import { runCompare } from './compare.js';
import { fillBaselines, fillMethodPicker, methodName, readMethodOptions, showParamsFor } from './params.js';
import { fillGallery, imageFileOf, photoUrl, pixelsOfBlob, pixelsOfUrl, stemOf } from './photos.js';
import { clear, downloadPNG, drawDiverging, drawGrayscale, drawOverlay, mapsOf, paint } from './render.js';

const MODEL_URL = new URL('../assets/resnet50/model.json', import.meta.url).href;
const LABELS_URL = new URL('../assets/resnet50/labels.json', import.meta.url).href;

const $ = (selector) => document.querySelector(selector);
const ui = {
  isolation: $('#isolation'), modelProgress: $('#model-progress'), modelStatus: $('#model-status'),
  error: $('#error'), gallery: $('#gallery'), fileInput: $('#file-input'), dropZone: $('#drop-zone'),
  classifyStatus: $('#classify-status'), top5: $('#top5'),
  form: $('#method-form'), method: $('#method'), methodAbout: $('#method-about'), baseline: $('#baseline'),
  layerNames: $('#layer-names'), layer: $('#layer'),
  explain: $('#explain'), compare: $('#compare'), cancel: $('#cancel'), runProgress: $('#run-progress'),
  status: $('#status'),
  results: $('#results'), resultInfo: $('#result-info'), resultTime: $('#result-time'),
  canvases: {
    photo: $('#photo-canvas'), grayscale: $('#grayscale-canvas'), diverging: $('#diverging-canvas'),
    overlay: $('#overlay-canvas'),
  },
  opacity: $('#opacity'), opacityValue: $('#opacity-value'), colormap: $('#colormap'),
  compareGrid: $('#compare-grid'),
};

const app = {
  session: null,
  model: null,
  photo: null, // { name, stem, crop: RGBA pixels of the model's input size }
  photoToken: 0, // the latest photo choice; older classifications are dropped
  top5: [],
  target: null,
  run: null, // the AbortController of the running explanation or comparison
  runTrigger: null, // the button that started it, when it had the focus
  result: null, // { method, mask, maps, time, target, label, photo }
  compared: new Map(),
};

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

function setState(state) {
  document.body.dataset.state = state;
  updateControls();
}

function showError(message) {
  ui.error.textContent = message;
}

function setStatus(message) {
  ui.status.textContent = message;
}

function updateControls() {
  const ready = app.model !== null && app.run === null;
  const canExplain = ready && document.body.dataset.classified === 'true' && app.target !== null;
  for (const button of ui.gallery.querySelectorAll('button')) button.disabled = !ready;
  ui.fileInput.disabled = !ready;
  ui.dropZone.classList.toggle('disabled', !ready);
  ui.explain.disabled = !canExplain;
  ui.compare.disabled = !canExplain;
  ui.cancel.disabled = app.run === null;
  for (const button of ui.top5.querySelectorAll('button')) button.disabled = app.run !== null;
  for (const button of ui.results.querySelectorAll('[data-download]')) {
    button.disabled = button.dataset.download === 'photo' ? !app.photo : !app.result;
  }
}

// ------------------------------------------------------------ start-up

function describeIsolation(session) {
  document.body.dataset.threads = String(session.threads);
  if (globalThis.crossOriginIsolated) {
    const threads = session.threads === 1 ? '1 thread' : `${session.threads} threads`;
    ui.isolation.textContent = `This page is cross-origin isolated: WebAssembly SIMD with ${threads}, ` +
      'in a Web Worker.';
    ui.isolation.dataset.isolated = 'true';
  } else {
    ui.isolation.textContent = 'This page is not cross-origin isolated, so it runs single-threaded ' +
      '(WebAssembly SIMD in a Web Worker). Serve it with the COOP and COEP headers to use every core.';
    ui.isolation.dataset.isolated = 'false';
  }
}

function showModelProgress(fraction) {
  ui.modelProgress.value = fraction;
  ui.modelStatus.textContent = `Loading ResNet50 (102 MB): ${Math.floor(fraction * 100)} %`;
}

async function start() {
  try {
    app.session = await Saliency.create();
    describeIsolation(app.session);
    const model = await app.session.loadModel(MODEL_URL, {
      preprocess: 'caffe', labels: LABELS_URL, onProgress: showModelProgress,
    });
    ui.modelProgress.value = 1;
    ui.modelStatus.textContent = `ResNet50 loaded: ${model.inputWidth} × ${model.inputHeight} input, ` +
      `${model.numClasses} classes.`;
    ui.layerNames.replaceChildren(...model.layers.map((name) => new Option('', name)));
    ui.layer.placeholder = model.lastSpatialLayer ?? '';
    app.model = model;
    setState('ready');
  } catch (error) {
    ui.modelStatus.textContent = 'The model could not be loaded.';
    showError(error.message);
    setState('error');
  }
}

// --------------------------------------------------------------- photos

function markGallery(file) {
  for (const button of ui.gallery.querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.photo === file));
  }
}

function forgetResults() {
  app.result = null;
  app.compared.clear();
  delete ui.results.dataset.method;
  ui.results.dataset.done = 'false';
  for (const kind of ['grayscale', 'diverging', 'overlay']) clear(ui.canvases[kind]);
  ui.resultInfo.textContent = 'The explanation appears here.';
  ui.resultTime.textContent = '–';
  ui.compareGrid.replaceChildren();
  delete ui.compareGrid.dataset.done;
}

// readPixels: () => Promise<ImageData>; name: shown in messages and download names.
async function choosePhoto(readPixels, name, galleryFile = null) {
  if (!app.model || app.run) return;
  const token = ++app.photoToken;
  document.body.dataset.classified = 'false';
  showError('');
  markGallery(galleryFile);
  app.photo = null;
  app.top5 = [];
  app.target = null;
  clear(ui.canvases.photo);
  ui.top5.replaceChildren();
  ui.classifyStatus.textContent = `Classifying ${name}…`;
  forgetResults();
  updateControls();
  try {
    const pixels = await readPixels();
    if (token !== app.photoToken) return;
    const crop = resizeCrop(pixels, app.model.inputWidth, app.model.inputHeight);
    app.photo = { name, stem: stemOf(name), crop };
    paint(ui.canvases.photo, crop);
    const top5 = await app.model.classify(crop, { top: 5 });
    if (token !== app.photoToken) return;
    showTop5(top5);
    ui.classifyStatus.textContent = `ResNet50's top five classes for ${name}. Choose the class to explain:`;
    document.body.dataset.classified = 'true';
  } catch (error) {
    if (token !== app.photoToken) return;
    ui.classifyStatus.textContent = 'Choose a photo to see ResNet50\'s top five classes.';
    showError(error.message);
  }
  updateControls();
}

function chooseSample(file) {
  choosePhoto(() => pixelsOfUrl(photoUrl(file), file), file, file);
}

function chooseFile(file) {
  if (!file) return;
  if (!app.model || app.run) {
    showError(app.run ? 'Wait for the run to finish (or cancel it) before changing the photo.'
      : 'Wait until the model has loaded.');
    return;
  }
  choosePhoto(() => pixelsOfBlob(file, file.name || 'the image'), file.name || 'the pasted image');
}

function wirePhotoInputs() {
  fillGallery(ui.gallery, chooseSample);
  ui.fileInput.addEventListener('change', () => {
    chooseFile(ui.fileInput.files[0]);
    ui.fileInput.value = '';
  });
  const zone = ui.dropZone;
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    chooseFile(imageFileOf(event.dataTransfer));
  });
  // A file dropped beside the zone must not replace the page.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  document.addEventListener('paste', (event) => {
    const file = imageFileOf(event.clipboardData);
    if (!file?.type.startsWith('image/')) return;
    event.preventDefault();
    chooseFile(file);
  });
}

// ---------------------------------------------------------------- top 5

function showTop5(top5) {
  app.top5 = top5;
  ui.top5.replaceChildren(...top5Items(top5, chooseTarget));
  chooseTarget(top5[0].index);
}

function chooseTarget(index) {
  app.target = index;
  markChosen(ui.top5, index);
  updateControls();
}

// ------------------------------------------------------------- results

function overlaySettings() {
  return { photo: app.result.photo, colormap: ui.colormap.value, alpha: ui.opacity.valueAsNumber };
}

function redrawOverlay() {
  ui.opacityValue.textContent = `${Math.round(ui.opacity.valueAsNumber * 100)} %`;
  if (app.result) drawOverlay(ui.canvases.overlay, app.result.maps, overlaySettings());
}

function describeResult({ method, mask, label, target }) {
  let text = `${methodName(method)} for “${prettyLabel(label, target)}” (class ${target}, score ` +
    `${mask.score.toFixed(2)}).`;
  if (Number.isFinite(mask.scoreDifference) && Number.isFinite(mask.completenessGap)) {
    const share = mask.scoreDifference !== 0 ? Math.abs(mask.completenessGap / mask.scoreDifference) * 100 : NaN;
    text += ` F(x) − F(baseline) = ${mask.scoreDifference.toFixed(2)}; completeness gap ` +
      `${mask.completenessGap.toFixed(3)}${Number.isFinite(share) ? ` (${share.toFixed(1)} %)` : ''}.`;
  }
  return text;
}

// result: { method, mask, maps, time }
function showResult(result) {
  app.result = { ...result, label: result.mask.label, target: result.mask.target, photo: app.photo.crop };
  drawGrayscale(ui.canvases.grayscale, result.maps);
  drawDiverging(ui.canvases.diverging, result.maps);
  redrawOverlay();
  ui.resultInfo.textContent = describeResult(app.result);
  ui.resultTime.textContent = seconds(result.time);
  ui.results.dataset.method = result.method;
  ui.results.dataset.done = 'true';
  updateControls();
}

function showCompared(method) {
  const result = app.compared.get(method);
  if (result) showResult({ method, ...result });
  ui.results.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

async function download(kind) {
  const method = kind === 'photo' ? '' : `.${app.result?.method}`;
  try {
    await downloadPNG(ui.canvases[kind], `${app.photo.stem}${method}.${kind}`);
  } catch (error) {
    showError(`Could not make the PNG: ${error.message}`);
  }
}

// ---------------------------------------------------------------- runs

// Keyboard users who start a run land on Cancel, and back where they were after it.
function beginRun(what) {
  const controller = new AbortController();
  const trigger = document.activeElement;
  app.run = controller;
  app.runTrigger = trigger === ui.explain || trigger === ui.compare ? trigger : null;
  showError('');
  ui.runProgress.value = 0;
  setStatus(what);
  setState('running');
  if (app.runTrigger) ui.cancel.focus();
  return controller;
}

function endRun(message) {
  const cancelHadFocus = document.activeElement === ui.cancel;
  app.run = null;
  setStatus(message);
  setState('ready');
  if (cancelHadFocus) (app.runTrigger ?? ui.explain).focus();
}

function cancelledMessage(started) {
  showError('The run was cancelled.');
  return `Cancelled after ${seconds(performance.now() - started)}.`;
}

function explainOptions(options, controller, onProgress) {
  return { ...options, target: app.target, signal: controller.signal, onProgress };
}

async function explainChosen() {
  let options;
  try {
    options = readMethodOptions(ui.method.value, ui.form);
  } catch (error) {
    showError(error.message);
    return;
  }
  const controller = beginRun(`Running ${methodName(options.method)}…`);
  const started = performance.now();
  let message;
  try {
    const mask = await app.model.explain(app.photo.crop,
      explainOptions(options, controller, (f) => { ui.runProgress.value = f; }));
    const time = performance.now() - started;
    ui.runProgress.value = 1;
    showResult({ method: options.method, mask, maps: mapsOf(mask), time });
    message = `${methodName(options.method)} took ${seconds(time)}.`;
  } catch (error) {
    if (error.name === 'AbortError') message = cancelledMessage(started);
    else {
      showError(error.message);
      message = `${methodName(options.method)} failed.`;
    }
  }
  endRun(message);
}

async function compareAll() {
  const controller = beginRun('Running every method in turn…');
  const started = performance.now();
  let message;
  try {
    const outcome = await runCompare({
      grid: ui.compareGrid, methods: METHODS, results: app.compared, signal: controller.signal,
      explain: (options, onProgress) => app.model.explain(app.photo.crop, explainOptions(options, controller, onProgress)),
      onProgress: (f) => { ui.runProgress.value = f; },
      onShow: showCompared,
    });
    message = outcome === 'cancelled' ? cancelledMessage(started)
      : `All ${METHODS.length} methods took ${seconds(performance.now() - started)} in all.`;
  } catch (error) {
    showError(error.message);
    message = 'The comparison failed.';
  }
  endRun(message);
}

function wireMethodControls() {
  fillMethodPicker(ui.method, METHODS);
  fillBaselines(ui.baseline, BASELINES);
  for (const name of COLORMAPS) ui.colormap.add(new Option(name, name, false, name === 'inferno'));
  showParamsFor(ui.method.value, ui.form, ui.methodAbout);
  ui.method.addEventListener('change', () => showParamsFor(ui.method.value, ui.form, ui.methodAbout));
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!ui.explain.disabled) explainChosen();
  });
  ui.compare.addEventListener('click', compareAll);
  ui.cancel.addEventListener('click', () => app.run?.abort());
  ui.opacity.addEventListener('input', redrawOverlay);
  ui.colormap.addEventListener('change', redrawOverlay);
  for (const button of ui.results.querySelectorAll('[data-download]')) {
    button.addEventListener('click', () => download(button.dataset.download));
  }
}

wirePhotoInputs();
wireMethodControls();
updateControls();
start();
