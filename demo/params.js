// params.js - the method picker and each method's parameters: which fields
// a method uses, and reading them into the options of model.explain().

const PATH_METHODS = new Set(['integrated-gradients', 'xrai', 'blur-ig', 'guided-ig']);

// Which parameter groups (data-param in index.html) each method reads.
const USES = {
  smooth: (method) => method !== 'xrai',
  steps: (method) => PATH_METHODS.has(method),
  baseline: (method) => method === 'integrated-gradients' || method === 'guided-ig',
  window: (method) => method === 'occlusion',
  layer: (method) => method === 'grad-cam' || method === 'guided-grad-cam',
};

const ABOUT = {
  'vanilla': ['Vanilla gradients', 'The gradient of the class score with respect to each pixel.'],
  'gradient-x-input': ['Gradient × input', 'The gradient times the pixel values.'],
  'guided-backprop': ['Guided backpropagation', 'Gradients where ReLUs pass only positive signals both ways.'],
  'deconvnet': ['Deconvnet', 'Gradients where ReLUs pass only positive gradients.'],
  'integrated-gradients': ['Integrated Gradients',
    'Gradients averaged along a straight path from a baseline to the photo (one gradient per step).'],
  'occlusion': ['Occlusion', 'How much the score drops when a square window is blanked (one forward pass per window).'],
  'grad-cam': ['Grad-CAM', 'A coarse map from one layer’s activations, weighted by their gradients.'],
  'guided-grad-cam': ['Guided Grad-CAM', 'Grad-CAM upsampled, times guided backpropagation.'],
  'xrai': ['XRAI', 'Integrated Gradients (black and white baselines) summed over image segments, ranked.'],
  'blur-ig': ['Blur IG', 'Integrated Gradients along a path from a blurred photo to the sharp one.'],
  'guided-ig': ['Guided IG', 'Integrated Gradients along a path that moves the least important pixels first.'],
};

export function methodName(method) {
  return ABOUT[method]?.[0] ?? method;
}

export function fillMethodPicker(select, methods) {
  for (const method of methods) select.add(new Option(methodName(method), method));
}

export function fillBaselines(select, baselines) {
  for (const baseline of baselines) select.add(new Option(baseline, baseline));
}

// Shows the fields the method uses, hides the others.
export function showParamsFor(method, form, about) {
  for (const field of form.querySelectorAll('[data-param]')) {
    field.hidden = !USES[field.dataset.param](method);
  }
  about.textContent = ABOUT[method]?.[1] ?? '';
}

function wholeNumber(input, label, min) {
  const value = input.valueAsNumber;
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${label} must be a whole number of at least ${min}`);
  return value;
}

function numberIn(input, label, min, max) {
  const value = input.valueAsNumber;
  if (!(value >= min && value <= max)) throw new RangeError(`${label} must be a number from ${min} to ${max}`);
  return value;
}

// The explain() options the form asks for (method parameters only).
// Throws a RangeError naming the field when one holds a bad value.
export function readMethodOptions(method, form) {
  const field = (id) => form.querySelector(`#${id}`);
  const options = { method };
  if (USES.smooth(method)) {
    options.smoothSamples = wholeNumber(field('smooth-samples'), 'SmoothGrad samples', 0);
    if (options.smoothSamples > 0) options.smoothNoise = numberIn(field('smooth-noise'), 'SmoothGrad noise', 0, 1);
  }
  if (USES.steps(method)) options.steps = wholeNumber(field('steps'), 'Path steps', 1);
  if (USES.baseline(method)) options.baseline = field('baseline').value;
  if (USES.window(method)) {
    options.window = wholeNumber(field('window'), 'Occlusion window', 1);
    options.stride = wholeNumber(field('stride'), 'Occlusion stride', 1);
  }
  const layer = field('layer').value.trim();
  if (USES.layer(method) && layer) options.layer = layer;
  return options;
}

// Quick settings for the compare grid: the whole grid in about a minute on two threads.
export function quickOptions(method) {
  const options = { method, smoothSamples: 0 };
  if (USES.steps(method)) options.steps = 16;
  if (USES.baseline(method)) options.baseline = 'black';
  if (USES.window(method)) Object.assign(options, { window: 32, stride: 32 });
  return options;
}
