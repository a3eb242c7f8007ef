// report.mjs - turns the benchmark's results (main.mjs) into derived
// figures, the issue's target ratios, the agreement checks between
// TensorFlow.js and this library, a plain-text table and Markdown.

const FIGURES = ['forward', 'gradient', 'smoothgrad', 'ig'];
/* tfjs must compute what we compute: logits within this share of their
 * largest magnitude, gradients with at least this cosine similarity. */
const LOGIT_TOLERANCE = 1e-3;
const MIN_GRADIENT_COSINE = 0.99;

const ok = (figure) => Number.isFinite(figure?.median);

/* ------------------------------------------------------------- derived */

export function rowLabel(row) {
  const threads = `${row.threads ?? 1}T`;
  if (row.library === 'ours') {
    if (row.environment === 'native') return `ours native ${row.variant} ${threads}`;
    return `ours ${row.environment === 'node' ? 'Node' : 'Chromium'} wasm ${row.variant} ${threads}`;
  }
  const env = row.environment === 'node' ? 'Node' : 'Chromium';
  if (row.variant === 'cpu') return `tfjs ${env} cpu (JS) 1T`;
  const features = [row.simd ? 'simd' : null, row.multithread ? 'threads' : null].filter(Boolean).join('+');
  const asked = row.requestedThreads && row.requestedThreads !== row.threads ? ` (asked ${row.requestedThreads})` : '';
  return `tfjs ${env} wasm${features ? ` ${features}` : ''} ${threads}${asked}`;
}

function ceilingFor(results, row) {
  const ceiling = row.environment === 'native' ? results.ceiling.native : results.ceiling.wasm;
  const perThread = ceiling?.gflops_per_thread;
  return Number.isFinite(perThread) ? perThread * (row.threads ?? 1) : null;
}

function derive(results, row) {
  const model = results.models[row.model];
  const forwardFlop = 2 * model.forwardMacs;
  const d = {};
  if (ok(row.forward)) d.forwardGflops = forwardFlop / (row.forward.median * 1e6);
  if (ok(row.gradient)) {
    d.gradientGflops = 2 * forwardFlop / (row.gradient.median * 1e6);
    const ceiling = ceilingFor(results, row);
    if (ceiling) d.gradientPercentOfCeiling = 100 * d.gradientGflops / ceiling;
    if (ok(row.forward)) d.gradientOverForward = row.gradient.median / row.forward.median;
  }
  if (ok(row.smoothgrad)) d.smoothgradPerSampleMs = row.smoothgrad.median / (row.smoothgrad.samples ?? 25);
  if (ok(row.ig)) d.igPerStepMs = row.ig.median / (row.ig.steps ?? 32);
  return d;
}

function agreement(row) {
  if (row.library !== 'tfjs' || !Number.isFinite(row.logitsMaxAbsDiff)) return null;
  const logitsOk = row.logitsMaxAbsDiff <= LOGIT_TOLERANCE * Math.max(1, row.logitsMaxAbs);
  const gradientOk = row.gradientCosine === undefined || row.gradientCosine >= MIN_GRADIENT_COSINE;
  return { ok: logitsOk && gradientOk, logitsMaxAbsDiff: row.logitsMaxAbsDiff, gradientCosine: row.gradientCosine };
}

/* --------------------------------------------------------------- targets */

function target(list, name, config, measured, limit, pass, note) {
  list.push({ target: name, configuration: config, measured, limit, result: pass === null ? 'n/a' : pass ? 'pass' : 'FAIL',
    ...(note ? { note } : {}) });
}

function speedTargets(results, list, model, rows) {
  const name = results.models[model].name;
  const tfjsWasm = rows.filter((r) => r.library === 'tfjs' && r.variant === 'wasm');
  /* A tfjs configuration that computes something else than ours is no yardstick. */
  const working = tfjsWasm.filter((r) => ok(r.gradient) && r.agreement?.ok !== false);
  const best = working.sort((a, b) => a.gradient.median - b.gradient.median)[0];
  const ours2 = rows.filter((r) => r.library === 'ours' && r.environment !== 'native' && r.variant === 'simd-threads');
  for (const row of ours2) {
    if (!ok(row.gradient)) continue;
    if (best) {
      const ratio = best.gradient.median / row.gradient.median;
      target(list, `${name}: gradient vs tfjs-wasm's best (${rowLabel(best)})`, rowLabel(row), `${ratio.toFixed(1)}x`,
        '>= 10x', ratio >= 10);
    } else if (tfjsWasm.length) {
      const why = tfjsWasm.map((r) => r.gradient?.failed ?? r.gradient?.skipped).filter(Boolean)[0] ?? 'no figure';
      const cpu = rows.find((r) => r.library === 'tfjs' && r.variant === 'cpu' && ok(r.gradient));
      const times = cpu ? (cpu.gradient.median / row.gradient.median).toFixed(0) : null;
      const versusCpu = cpu ? `; tfjs-cpu's gradient takes ${times}x ours` : '';
      target(list, `${name}: gradient vs tfjs-wasm`, rowLabel(row), 'tfjs-wasm has no gradient', '>= 10x', null,
        `${why}${versusCpu}`);
    }
    const pct = row.derived.gradientPercentOfCeiling;
    if (Number.isFinite(pct)) {
      target(list, `${name}: gradient, share of the matrix-multiply ceiling`, rowLabel(row), `${pct.toFixed(0)}%`,
        '>= 50%', pct >= 50);
    }
  }
  for (const row of rows.filter((r) => r.library === 'ours')) {
    const ratio = row.derived.gradientOverForward;
    if (Number.isFinite(ratio)) {
      target(list, `${name}: gradient / forward`, rowLabel(row), `${ratio.toFixed(2)}`, '<= 2.5', ratio <= 2.5);
    }
  }
}

function batchingTargets(results, list, model, rows) {
  const name = results.models[model].name;
  for (const row of rows.filter((r) => r.library === 'ours' && ok(r.gradient))) {
    for (const [perKey, label] of [['smoothgradPerSampleMs', 'SmoothGrad-25 per sample'],
      ['igPerStepMs', 'IG-32 per step']]) {
      const per = row.derived[perKey];
      if (!Number.isFinite(per)) continue;
      const ratio = per / row.gradient.median;
      target(list, `${name}: ${label} / gradient`, rowLabel(row), ratio.toFixed(2), '<= 0.8', ratio <= 0.8);
    }
  }
}

function backendTargets(results, list, model, rows) {
  const name = results.models[model].name;
  const native = rows.filter((r) => r.environment === 'native');
  for (const portable of native.filter((r) => r.variant === 'portable')) {
    const xnn = native.find((r) => r.variant === 'xnnpack' && r.threads === portable.threads);
    if (!xnn) continue;
    for (const figure of FIGURES) {
      if (!ok(portable[figure]) || !ok(xnn[figure])) continue;
      const ratio = portable[figure].median / xnn[figure].median;
      target(list, `${name}: native portable / XNNPACK, ${figure}`, `${portable.threads}T`, ratio.toFixed(2), '<= 1.5',
        ratio <= 1.5);
    }
  }
}

function memoryTargets(results, list, model, rows) {
  const info = results.models[model];
  for (const row of rows.filter((r) => r.memory?.peakBytes)) {
    const limit = info.weightBytes + 2 * info.activationBytes;
    const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    target(list, `${info.name}: peak wasm memory of one gradient`, rowLabel(row), mb(row.memory.peakBytes),
      `<= ${mb(limit)} (weights ${mb(info.weightBytes)} + 2 x activations ${mb(info.activationBytes)})`,
      row.memory.peakBytes <= limit,
      `activations = every layer's output for one image; with the largest single tensor ` +
      `(${mb(info.largestActivationBytes)}) instead the limit would be ` +
      `${mb(info.weightBytes + 2 * info.largestActivationBytes)}`);
  }
}

/* Adds row.derived, row.agreement, results.targets and results.disagreements. */
export function analyze(results) {
  for (const row of results.rows) {
    row.label = rowLabel(row);
    row.derived = derive(results, row);
    row.agreement = agreement(row);
  }
  results.disagreements = results.rows.filter((r) => r.agreement && !r.agreement.ok).map((r) =>
    `${results.models[r.model].name}, ${r.label}: logits differ by ${r.agreement.logitsMaxAbsDiff.toExponential(2)}, ` +
    `gradient cosine ${r.agreement.gradientCosine?.toFixed(4) ?? 'n/a'}`);
  results.targets = [];
  for (const model of Object.keys(results.models)) {
    const rows = results.rows.filter((r) => r.model === model);
    speedTargets(results, results.targets, model, rows);
    batchingTargets(results, results.targets, model, rows);
    backendTargets(results, results.targets, model, rows);
    memoryTargets(results, results.targets, model, rows);
  }
  return results;
}

/* -------------------------------------------------------------- output */

const HEADER = ['configuration', 'forward ms', 'gradient ms', 'grad/fwd', 'SG-25 s', 'SG ms/sample', 'IG-32 s',
  'IG ms/step', 'grad GFLOP/s', '% ceiling', 'agrees with ours'];

function cells(row, note) {
  const d = row.derived;
  const why = (figure) => {
    const f = row[figure];
    if (f?.failed) return note(f.failed.startsWith('not finished') ? f.failed : `failed: ${f.failed}`);
    if (f?.skipped) return note(f.skipped);
    if (row.unavailable) return note(row.unavailable);
    return '-';
  };
  const ms = (figure) => ok(row[figure]) ? row[figure].median.toFixed(0) : why(figure);
  const s = (figure) => ok(row[figure]) ? (row[figure].median / 1000).toFixed(2) : why(figure);
  const num = (v, digits) => Number.isFinite(v) ? v.toFixed(digits) : '-';
  const a = row.agreement;
  const check = a ? `${a.ok ? 'yes' : 'NO'} (logits ±${a.logitsMaxAbsDiff.toExponential(0)}` +
    `${a.gradientCosine !== undefined ? `, cos ${a.gradientCosine.toFixed(4)}` : ''})` : '';
  return [row.label, ms('forward'), ms('gradient'), num(d.gradientOverForward, 2), s('smoothgrad'),
    num(d.smoothgradPerSampleMs, 0), s('ig'), num(d.igPerStepMs, 0), num(d.gradientGflops, 1),
    num(d.gradientPercentOfCeiling, 0), check];
}

function modelSections(results, note) {
  return Object.entries(results.models).map(([key, info]) => ({
    key, info, rows: results.rows.filter((r) => r.model === key).map((r) => cells(r, note)),
  })).filter((section) => section.rows.length);
}

function headerLines(results) {
  const m = results.meta, s = m.settings;
  const ceiling = (c) => (Number.isFinite(c?.gflops_per_thread)
    ? `${c.gflops_per_thread.toFixed(1)} GFLOP/s per thread` : (c?.failed ?? 'not run'));
  return [
    `${m.date.slice(0, 16).replace('T', ' ')} UTC, ${m.cpu}, ${m.cores} cores, commit ${m.commit}, Node ${m.node}; ` +
    `load average ${m.loadAverageAtStart.join(' ')} at the start, ${m.loadAverageAtEnd?.join(' ') ?? '?'} at the end; ` +
    `${m.wallSeconds} s in all.`,
    `Medians. Forward and gradient: ${s.runs} runs after ${s.warmup} warm-up (tfjs: ${s.tfjsRuns} after ${s.tfjsWarmup}; ` +
    `tfjs cpu: 1 after none). SmoothGrad-${s.smoothSamples} (noise ${s.smoothNoise}) and IG-${s.igSteps}: ours ` +
    `${s.heavyRuns} runs after ${s.heavyWarmup} warm-up, through the library's explain (its own batching); tfjs 1 run ` +
    `as ${s.smoothSamples} / ${s.igSteps} gradients in calls of ${s.tfjsChunk} (in Chromium, where its threads work, ` +
    `and on cpu), skipped when projected over ${s.tfjsLimit} s; a tfjs-cpu process is stopped after ${s.tfjsLimit} s.`,
    `Input: ${m.photo} resized to the model's input, batch 1. Gradient = d logit[top class] / d input (pre-softmax). ` +
    `FLOPs from the layer shapes: forward = 2 x multiply-adds, gradient = 2 x forward (input gradients only), ` +
    `counted as direct convolution: our portable kernels run 3x3 stride-1 convolutions of up to 256 channels ` +
    `as Winograd F(4x4, 3x3) or F(2x2, 3x3), with 4x or 2.25x fewer multiply-adds there, so their share of the ` +
    `ceiling can pass what the GEMM alone reaches.`,
    `Ceiling (matrix-multiply microbenchmark, tools/bench_gemm_ceiling.c, x threads): wasm SIMD in Node ` +
    `${ceiling(results.ceiling.wasm)}; native ${ceiling(results.ceiling.native)}.`,
  ];
}

export function renderMarkdown(results) {
  const notes = [];
  const note = (text) => {
    let index = notes.indexOf(text);
    if (index < 0) index = notes.push(text) - 1;
    return `n${index + 1}`;
  };
  const out = ['# Benchmark: saliency (this library) vs TensorFlow.js', '', ...headerLines(results).map((l) => `${l}  `), ''];
  for (const { info, rows } of modelSections(results, note)) {
    out.push(`## ${info.name}, ${info.height}x${info.width}: ${(info.forwardMacs / 1e9).toFixed(2)} G multiply-adds ` +
      `per forward pass, ${(info.weightBytes / 2 ** 20).toFixed(1)} MiB of float32 weights`, '');
    out.push(`| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
    for (const r of rows) out.push(`| ${r.join(' | ')} |`);
    out.push('');
  }
  if (notes.length) {
    out.push('Notes:', '', ...notes.map((text, i) => `- n${i + 1}: ${text}`), '');
  }
  const stubs = [...new Set(results.rows.flatMap((r) => r.stubbedKernels ?? []))];
  if (stubs.length) {
    out.push(`tfjs-backend-wasm lacks ${stubs.join(' and ')}: tf.grad of the input still runs them, because tfjs' ` +
      `fused convolutions return the filter gradient with the input gradient. The benchmark registers stubs that ` +
      `return zeros (the filter gradient is never used), which spares tfjs that work; without them tf.grad fails.`, '');
  }
  out.push('## Targets (issue 6), from this run', '', '| target | configuration | measured | limit | result |',
    '|---|---|---:|---|---|');
  for (const t of results.targets) {
    const note = t.note ? ` (${t.note})` : '';
    out.push(`| ${t.target} | ${t.configuration} | ${t.measured} | ${t.limit} | ${t.result}${note} |`);
  }
  if (results.disagreements.length) {
    out.push('', '## DISAGREEMENT', '', ...results.disagreements.map((d) => `- ${d}`));
  }
  return `${out.join('\n')}\n`;
}

/* The same table as plain aligned text, for the terminal. */
export function renderTable(results) {
  const notes = [];
  const note = (text) => {
    let index = notes.indexOf(text);
    if (index < 0) index = notes.push(text) - 1;
    return `n${index + 1}`;
  };
  const out = headerLines(results);
  for (const { info, rows } of modelSections(results, note)) {
    const table = [HEADER, ...rows];
    const widths = HEADER.map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
    out.push('', `${info.name} ${info.height}x${info.width}`);
    const pad = (c, i) => (i ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]));
    for (const r of table) out.push(r.map(pad).join('  '));
  }
  if (notes.length) out.push('', ...notes.map((text, i) => `n${i + 1}: ${text}`));
  out.push('', 'Targets:');
  for (const t of results.targets) {
    out.push(`  [${t.result}] ${t.target}, ${t.configuration}: ${t.measured} (${t.limit})`);
  }
  if (results.disagreements.length) out.push('', 'DISAGREEMENT:', ...results.disagreements.map((d) => `  ${d}`));
  return out.join('\n');
}
