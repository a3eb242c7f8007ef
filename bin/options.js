// options.js - the CLI's flags, checked as the native CLI checks them
// (src/cli/options.c, explain_settings.c, pipeline.c) and with the same
// messages: "--name value" pairs and three switches, --overlay, --progress and
// --original-size.

export class CliError extends Error {}

const fail = (message) => {
  throw new CliError(message);
};

export const usage = `usage:
  saliency classify --model DIR/model.json --image PHOTO [--preprocess caffe|tf|torch|none]
                    [--labels FILE] [--top 5] [--threads N]
  saliency explain  --model DIR/model.json --image PHOTO [--preprocess caffe|tf|torch|none]
                    [--labels FILE] [--target top|N] [--method METHOD] [method options]
                    --npy OUT.npy and/or --png OUT.png [picture options] [--threads N]
                    [--memory-budget MB] [--progress]

The photo is resized and centre-cropped to the model's input.
preprocessing: input = (pixel * scale - mean) / std per channel, pixels in [0, 255]; a preset
(caffe: BGR, ImageNet mean; tf: [-1, 1]; torch: ImageNet mean/std; none) can be changed with
  --mean A,B,C  --std A,B,C  --scale S  --channel-order rgb|bgr   (mean/std in the model's channel order)

methods (--method, default vanilla):
  vanilla, gradient-x-input, guided-backprop, deconvnet, integrated-gradients, occlusion,
  grad-cam, guided-grad-cam, xrai, blur-ig, guided-ig
method options (defaults are the papers'):
  --smooth SAMPLES          SmoothGrad over the method with SAMPLES noisy copies (0: off)
    --noise 0.15            noise sigma as a share of the input's range
    --aggregate mean|squared|vargrad
    --seed N                seed of every random draw (SmoothGrad, noise baseline)
  --steps 32                path steps (integrated-gradients, xrai, blur-ig, guided-ig)
  --baseline black|white|noise|blur|PHOTO   (a PHOTO is resized and cropped like --image)
  --quadrature riemann_left|riemann_right|riemann_middle|riemann_trapezoid|gauss_legendre
  --layer NAME              layer of grad-cam / guided-grad-cam (default: the last spatial one)
  --window 16 --stride 8    occlusion patch size and step, in pixels
  --baseline-value 0        pixel value (0-255) of the occluding patch
  --memory-budget MB        working memory for batches of samples/steps/windows (default 512)
  --progress                a progress bar on stderr
outputs:
  --npy OUT.npy             the mask, float32: (H, W, 3) in RGB order, or (H, W) for grad-cam and xrai
                            (always at the model's input size)
  --png OUT.png             a picture at the model's input size: grayscale of |mask| clipped at
                            --percentile 99 (grad-cam and xrai: divided by their largest value)
    --colormap gray|inferno|viridis|jet|diverging   colour it (diverging: signed, blue-white-red)
    --overlay               blend it over the resized photo with --alpha 0.5
    --original-size         draw it at the photo's size: the picture resampled (bilinear) onto the
                            part of the photo the model saw, 0 elsewhere; --overlay uses the photo
    --xrai-top PERCENT      (xrai) show 1 in the top regions covering PERCENT % of the area, 0 elsewhere
  stdout: one JSON object {"method", "target", "label", "score"} and, for integrated-gradients,
  xrai, blur-ig and guided-ig, "score_difference" F(x) - F(baseline), "completeness_gap"
  (score_difference - sum of the mask) and "completeness_gap_percent" (of |score_difference|).

This is the WebAssembly build: --threads 1 runs the single-threaded module, any other number the
threaded one (0, the default: all cores).  The progress bar also shows when stderr is a terminal.
`;

// flag -> option name; all keep their text until the command checks them.
const TEXT_FLAGS = {
  '--model': 'model', '--image': 'image', '--preprocess': 'preprocess', '--labels': 'labels',
  '--mean': 'mean', '--std': 'std', '--scale': 'scale', '--channel-order': 'channelOrder',
  '--target': 'target', '--method': 'method', '--smooth': 'smooth', '--noise': 'noise',
  '--aggregate': 'aggregate', '--seed': 'seed', '--steps': 'steps', '--baseline': 'baseline',
  '--quadrature': 'quadrature', '--layer': 'layer', '--window': 'window', '--stride': 'stride',
  '--baseline-value': 'baselineValue', '--memory-budget': 'memoryBudget', '--npy': 'npy', '--png': 'png',
  '--colormap': 'colormap', '--alpha': 'alpha', '--xrai-top': 'xraiTop',
};
const NUMBER_FLAGS = ['--top', '--threads', '--percentile'];
const SWITCHES = { '--overlay': 'overlay', '--progress': 'progress', '--original-size': 'originalSize' };

// strtol/strtof-like readers: optional leading blanks and sign, then the whole text.
function wholeNumber(text) {
  return /^\s*[+-]?\d+$/.test(text) ? Number(text) : NaN;
}

function decimalNumber(text) {
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return NaN;
  return Math.fround(Number(text));
}

function isValueFlag(flag) {
  return flag in TEXT_FLAGS || NUMBER_FLAGS.includes(flag);
}

function setNumber(opt, flag, value) {
  if (flag === '--top') {
    const v = wholeNumber(value);
    if (v >= 1 && v <= 2147483647) return (opt.top = v);
    fail(`--top needs a positive whole number, not '${value}'`);
  } else if (flag === '--threads') {
    const v = wholeNumber(value);
    if (v >= 0 && v <= 256) return (opt.threads = v);
    fail(`--threads needs a number from 0 (all cores) to 256, not '${value}'`);
  }
  const v = decimalNumber(value);
  if (v >= 0 && v <= 100) return (opt.percentile = v);
  fail(`--percentile needs a number from 0 to 100, not '${value}'`);
}

export function parseOptions(args) {
  const opt = { preprocess: 'caffe', method: 'vanilla', target: 'top', top: 5, percentile: 99, threads: 0 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const previous = args[i - 1];
    if (!flag.startsWith('--') && previous in SWITCHES) fail(`option '${previous}' takes no value, not '${flag}'`);
    if (!flag.startsWith('--')) fail(`unexpected argument '${flag}' (options are --name value)`);
    if (flag in SWITCHES) {
      opt[SWITCHES[flag]] = true;
      continue;
    }
    if (!isValueFlag(flag)) fail(`unknown option '${flag}' (see saliency --help)`);
    const value = args[i + 1];
    if (value === undefined || isValueFlag(value) || value in SWITCHES) fail(`option '${flag}' needs a value`);
    i++;
    if (flag in TEXT_FLAGS) opt[TEXT_FLAGS[flag]] = value;
    else setNumber(opt, flag, value);
  }
  return opt;
}

// ------------------------------------------------------------ preprocessing

// The presets of src/image/preprocess.c (mean and std in the model's channel order).
const PRESETS = {
  caffe: { scale: 1, mean: [103.939, 116.779, 123.68], std: [1, 1, 1], bgr: true },
  tf: { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1], bgr: false },
  torch: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], bgr: false },
  none: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false },
};

// "a,b,c", or one number for all three channels.
function triple(flag, text, positive) {
  const parts = text.split(',');
  const values = parts.map(decimalNumber);
  const bad = (parts.length !== 1 && parts.length !== 3) ||
    values.some((v) => !Number.isFinite(v) || (positive && !(v > 0)));
  if (bad) fail(`${flag} needs three ${positive ? 'positive ' : ''}numbers like 1,2,3 (or one), not '${text}'`);
  return values.length === 1 ? [values[0], values[0], values[0]] : values;
}

// The preset name, or the preset changed by --mean, --std, --scale, --channel-order.
export function preprocessOf(opt) {
  const preset = PRESETS[opt.preprocess];
  if (!preset) fail(`unknown preprocessing '${opt.preprocess}': valid names are caffe, tf, torch, none`);
  if (!opt.mean && !opt.std && !opt.scale && !opt.channelOrder) return opt.preprocess;
  const p = { ...preset, mean: [...preset.mean], std: [...preset.std] };
  if (opt.mean) p.mean = triple('--mean', opt.mean, false);
  if (opt.std) p.std = triple('--std', opt.std, true);
  if (opt.scale) {
    const v = decimalNumber(opt.scale);
    if (!Number.isFinite(v) || !(v > 0)) fail(`--scale needs one positive number, not '${opt.scale}'`);
    p.scale = v;
  }
  if (opt.channelOrder) {
    if (opt.channelOrder !== 'rgb' && opt.channelOrder !== 'bgr') {
      fail(`--channel-order is rgb or bgr, not '${opt.channelOrder}'`);
    }
    p.bgr = opt.channelOrder === 'bgr';
  }
  return p;
}

// ------------------------------------------------------------ explain

const METHODS = ['vanilla', 'gradient-x-input', 'guided-backprop', 'deconvnet', 'integrated-gradients', 'occlusion',
  'grad-cam', 'guided-grad-cam', 'xrai', 'blur-ig', 'guided-ig'];
const AGGREGATES = ['mean', 'squared', 'vargrad'];
const QUADRATURES = ['riemann_left', 'riemann_right', 'riemann_middle', 'riemann_trapezoid', 'gauss_legendre'];
const COLORMAPS = ['gray', 'inferno', 'viridis', 'jet', 'diverging'];

function oneOf(flag, text, names) {
  if (!names.includes(text)) fail(`unknown ${flag} '${text}' (${names.join(', ')})`);
  return text;
}

function whole(flag, text, lo, hi) {
  const v = wholeNumber(text);
  if (!(v >= lo && v <= hi)) fail(`${flag} needs a whole number from ${lo} to ${hi}, not '${text}'`);
  return v;
}

function number(flag, text, lo, hi) {
  const v = decimalNumber(text);
  if (!(v >= lo && v <= hi)) fail(`${flag} needs a number from ${lo} to ${hi}, not '${text}'`);
  return v;
}

function target(text) {
  if (text === 'top') return undefined;
  const v = wholeNumber(text);
  if (!(v >= 0 && v <= 100000000)) fail(`--target needs 'top' or a class index, not '${text}'`);
  return v;
}

function seed(text) {
  if (!/^\d+$/.test(text) || BigInt(text) >= 2n ** 64n) {
    fail(`--seed needs a whole number from 0 to 2^64 - 1, not '${text}'`);
  }
  if (BigInt(text) > BigInt(Number.MAX_SAFE_INTEGER)) {
    fail(`--seed: the WebAssembly build takes seeds up to 2^53 - 1, not '${text}'`);
  }
  return Number(text);
}

// --xrai-top PERCENT: a picture of XRAI's ranked regions, so only with --method xrai.
function xraiTopPercent(method, text) {
  if (method !== 'xrai') fail("--xrai-top needs --method xrai (it shows XRAI's top regions)");
  return number('--xrai-top', text, 0, 100);
}

// The engine's explain options and the picture's settings, from the flags.
export function explainSettings(opt) {
  if (!opt.npy && !opt.png) fail('missing --npy OUT.npy or --png OUT.png');
  const e = { method: oneOf('--method', opt.method, METHODS) };
  if (opt.aggregate) e.smoothAggregate = oneOf('--aggregate', opt.aggregate, AGGREGATES);
  if (opt.quadrature) e.quadrature = oneOf('--quadrature', opt.quadrature, QUADRATURES);
  const colormap = opt.colormap ? oneOf('--colormap', opt.colormap, COLORMAPS) : undefined;
  if (opt.baseline) e.baseline = opt.baseline; // a name, else a photo's path (the session reads it)
  e.target = target(opt.target);
  if (opt.smooth) e.smoothSamples = whole('--smooth', opt.smooth, 0, 100000);
  if (opt.noise) e.smoothNoise = number('--noise', opt.noise, 0, 100);
  if (opt.seed) e.seed = seed(opt.seed);
  if (opt.steps) e.steps = whole('--steps', opt.steps, 1, 100000);
  if (opt.window) e.window = whole('--window', opt.window, 1, 100000);
  if (opt.stride) e.stride = whole('--stride', opt.stride, 1, 100000);
  if (opt.baselineValue) e.baselineValue = number('--baseline-value', opt.baselineValue, 0, 255);
  if (opt.memoryBudget) e.memoryBudget = whole('--memory-budget', opt.memoryBudget, 1, 1 << 20) * 2 ** 20;
  if (opt.layer) e.layer = opt.layer;
  const alpha = opt.alpha ? number('--alpha', opt.alpha, 0, 1) : 0.5;
  const xraiTop = opt.xraiTop ? xraiTopPercent(e.method, opt.xraiTop) : undefined;
  return {
    explain: e, npy: opt.npy, png: opt.png, colormap, overlay: !!opt.overlay, alpha, percentile: opt.percentile,
    originalSize: !!opt.originalSize, xraiTop,
  };
}
