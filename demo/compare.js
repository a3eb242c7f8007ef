// compare.js - the "compare all methods" grid: every method in turn on the
// same photo and class, each figure filled in as its method finishes.
import { methodName, quickOptions } from './params.js';
import { drawGrayscale, mapsOf } from './render.js';

function figureFor(method, onShow) {
  const figure = document.createElement('figure');
  figure.dataset.method = method;
  figure.dataset.state = 'pending';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'compare-item';
  button.disabled = true;
  button.setAttribute('aria-label', `Show ${methodName(method)} in the result above`);
  const canvas = document.createElement('canvas');
  canvas.width = 224;
  canvas.height = 224;
  button.append(canvas);
  button.addEventListener('click', () => onShow(method));
  const caption = document.createElement('figcaption');
  const name = document.createElement('span');
  name.className = 'method-name';
  name.textContent = methodName(method);
  const detail = document.createElement('span');
  detail.className = 'detail';
  detail.textContent = 'waiting';
  caption.append(name, ' ', detail);
  figure.append(button, caption);
  return figure;
}

function setState(figure, state, detail) {
  figure.dataset.state = state;
  figure.querySelector('.detail').textContent = detail;
}

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

// Runs every method; results.get(method) = { mask, maps, time } for the ones that finished.
// Resolves with 'done' or 'cancelled'.
export async function runCompare({ grid, methods, explain, signal, onProgress, onShow, results }) {
  grid.replaceChildren(...methods.map((method) => figureFor(method, onShow)));
  grid.dataset.done = 'false';
  results.clear();
  const figures = [...grid.children];
  for (const [i, method] of methods.entries()) {
    const figure = figures[i];
    if (signal.aborted) break;
    setState(figure, 'running', 'running…');
    const started = performance.now();
    try {
      const mask = await explain(quickOptions(method), (f) => onProgress((i + f) / methods.length));
      const time = performance.now() - started;
      const maps = mapsOf(mask);
      results.set(method, { mask, maps, time });
      drawGrayscale(figure.querySelector('canvas'), maps);
      figure.querySelector('button').disabled = false;
      setState(figure, 'done', seconds(time));
    } catch (error) {
      if (error.name === 'AbortError') break;
      setState(figure, 'error', `failed: ${error.message}`);
    }
  }
  for (const figure of figures) {
    if (figure.dataset.state === 'pending' || figure.dataset.state === 'running') setState(figure, 'cancelled', 'cancelled');
  }
  if (signal.aborted) return 'cancelled';
  grid.dataset.done = 'true';
  onProgress(1);
  return 'done';
}
