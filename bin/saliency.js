#!/usr/bin/env node
// saliency - the command-line tool on the WebAssembly build, with the flags
// and outputs of the native build/saliency (src/cli/):
//   classify: a JSON list of the top classes on stdout;
//   explain:  the mask as .npy and/or a .png picture, a JSON summary on stdout.
// Errors: one line "saliency: MESSAGE" on stderr and exit status 1.
// Threads are on (all cores) unless --threads 1, which runs the
// single-threaded 'simd' build.
import { writeFile } from 'node:fs/promises';

import { Saliency, cropRect } from '../web/index.js';
import { fileErrorMessage, readFileBytes } from '../web/models.js';
import { encodeNpy } from '../web/npy.js';
import { displayMap } from '../web/visualize.js';
import { explainSettings, parseOptions, preprocessOf, usage, CliError } from './options.js';
import { progressBar } from './progress.js';

// A JSON string literal (control characters may be escaped in another of
// JSON's ways than the native CLI's \u00XX).
function jsonString(text) {
  return JSON.stringify(text);
}

// printf's %.Ng: N significant digits, trailing zeros dropped, exponent form
// when the exponent is below -4 or at least N.
function formatG(value, digits) {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential(digits - 1).split('e');
  const exponent = Number(exponentText);
  const trim = (text) => (text.includes('.') ? text.replace(/\.?0+$/, '') : text);
  if (exponent < -4 || exponent >= digits) {
    const sign = exponent < 0 ? '-' : '+';
    return `${trim(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return trim(value.toFixed(Math.max(0, digits - 1 - exponent)));
}

function jsonNumber(value, digits) {
  return Number.isFinite(value) ? formatG(value, digits) : 'null';
}

function labelText(label) {
  return label == null ? 'null' : jsonString(label);
}

function rankingJson(ranking) {
  const rows = ranking.map(({ index, label, score }) =>
    `\n  {"index": ${index}, "label": ${labelText(label)}, "score": ${formatG(score, 8)}}`);
  return `[${rows.join(',')}\n]\n`;
}

function summaryJson(mask) {
  let text = `{"method": ${jsonString(mask.method)}, "target": ${mask.target}, "label": ${labelText(mask.label)}, ` +
    `"score": ${jsonNumber(mask.score, 9)}`;
  if (mask.scoreDifference !== undefined && mask.completenessGap !== undefined) {
    const difference = mask.scoreDifference;
    const gap = mask.completenessGap;
    text += `, "score_difference": ${jsonNumber(difference, 9)}, "completeness_gap": ${jsonNumber(gap, 9)}` +
      `, "completeness_gap_percent": ${jsonNumber(difference !== 0 ? (100 * gap) / Math.abs(difference) : NaN, 9)}`;
  }
  return `${text}}\n`;
}

async function openSession(opt) {
  const threads = opt.threads;
  return Saliency.create({ worker: false, threads, variant: threads === 1 ? 'simd' : 'simd-threads' });
}

async function loadModel(session, opt) {
  if (!opt.model) throw new CliError('missing --model PATH/model.json');
  if (!opt.image) throw new CliError('missing --image PHOTO');
  const preprocess = preprocessOf(opt);
  try {
    // Without --labels, the session reads labels.json beside the model when there is one.
    return await session.loadModel(opt.model, { preprocess, labels: opt.labels });
  } catch (error) {
    // Worded as the native CLI: file errors as they are, the loader's named after the model file.
    const context = `cannot load the model from ${opt.model}: `;
    const why = error.message.startsWith(context) ? error.message.slice(context.length) : error.message;
    throw new CliError(why.startsWith('cannot open ') ? why : `${opt.model}: ${why}`);
  }
}

// The photo decoded by the engine (stb_image), with the native CLI's errors.
async function readPhoto(session, path) {
  const encoded = await readFileBytes(path);
  try {
    return await session.decodeImage({ encoded });
  } catch (error) {
    throw new CliError(`${path}: ${error.message.replace(/^image: /, '')}`);
  }
}

async function readBaseline(session, baseline) {
  if (['black', 'white', 'noise', 'blur'].includes(baseline)) return baseline;
  try {
    return await readPhoto(session, baseline);
  } catch (error) {
    throw new CliError(`--baseline is black, white, noise, blur or a photo: ${error.message}`);
  }
}

async function classify(session, opt) {
  await loadModel(session, opt);
  const ranking = await session.classify(await readPhoto(session, opt.image), { top: opt.top });
  process.stdout.write(rankingJson(ranking));
}

async function writeOutputs(session, mask, settings, photo) {
  if (settings.npy) {
    const shape = mask.channels === 1 ? [mask.height, mask.width] : [mask.height, mask.width, mask.channels];
    await writeOrFail(settings.npy, encodeNpy(mask.data, shape));
  }
  if (settings.png) {
    const overlay = settings.overlay ? photo : undefined;
    const colormap = settings.colormap ?? 'gray';
    const png = await session.toPNG(await pictureMap(session, mask, settings, photo), {
      colormap, overlay, alpha: settings.alpha, percentile: settings.percentile,
    });
    await writeOrFail(settings.png, png);
  }
}

// The map the picture shows, as the native CLI draws it: the shown mask (or
// with --xrai-top XRAI's top regions), with --original-size resampled onto
// the part of the photo the model saw and 0 elsewhere.
async function pictureMap(session, mask, settings, photo) {
  if (settings.xraiTop === undefined && !settings.originalSize) return mask;
  const shown = settings.xraiTop === undefined
    ? displayMap(mask, { colormap: settings.colormap ?? 'gray', percentile: settings.percentile })
    : await session.xraiTopMask(mask, settings.xraiTop);
  if (!settings.originalSize) return shown;
  const crop = cropRect(photo.width, photo.height, mask.width, mask.height);
  const inside = await session.resizeMap(shown, crop.width, crop.height);
  const data = new Float32Array(photo.width * photo.height);
  for (let y = 0; y < crop.height; y++) {
    data.set(inside.data.subarray(y * crop.width, (y + 1) * crop.width), (crop.y + y) * photo.width + crop.x);
  }
  return { width: photo.width, height: photo.height, data };
}

async function writeOrFail(path, bytes) {
  try {
    await writeFile(path, bytes);
  } catch (error) {
    throw new CliError(fileErrorMessage('create', path, error));
  }
}

async function explain(session, opt, settings) {
  const model = await loadModel(session, opt);
  const photo = await readPhoto(session, opt.image);
  const target = settings.explain.target;
  if (target !== undefined && target >= model.numClasses) {
    throw new CliError(`--target ${target} is not a class of this model (it has ${model.numClasses} classes)`);
  }
  if (settings.explain.baseline) settings.explain.baseline = await readBaseline(session, settings.explain.baseline);
  const bar = opt.progress || process.stderr.isTTY ? progressBar(process.stderr) : null;
  let mask;
  try {
    mask = await session.explain(photo, { ...settings.explain, onProgress: bar?.update });
  } finally {
    bar?.finish();
  }
  await writeOutputs(session, mask, settings, photo);
  process.stdout.write(summaryJson(mask));
}

async function main(argv) {
  const command = argv[0];
  if (command === undefined) throw new CliError('missing command: classify or explain (see saliency --help)');
  if (command === '--help' || command === '-h') {
    process.stdout.write(usage);
    return;
  }
  const opt = parseOptions(argv.slice(1));
  if (command !== 'classify' && command !== 'explain') {
    throw new CliError(`unknown command '${command}' (classify or explain)`);
  }
  const settings = command === 'explain' ? explainSettings(opt) : null; // flags are checked before anything loads
  const session = await openSession(opt);
  try {
    await (command === 'classify' ? classify(session, opt) : explain(session, opt, settings));
  } finally {
    session.dispose();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`saliency: ${error?.message || 'failed'}\n`);
    process.exit(1);
  },
);
