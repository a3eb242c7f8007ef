// stats.mjs - timing and comparison helpers shared by the benchmark's runners
// (Node and the Chromium page import the same file).

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/* Runs fn `warmup` times untimed, then `runs` times timed (fn may be async).
 * Returns milliseconds: { median, min, max, runs, warmup }. */
export async function time(fn, runs, warmup) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    ms.push(performance.now() - start);
  }
  return { median: median(ms), min: Math.min(...ms), max: Math.max(...ms), runs, warmup };
}

/* A figure that could not be measured: kept in the results with its reason. */
export async function attempt(what, fn) {
  try {
    return await fn();
  } catch (error) {
    const message = String(error?.message ?? error).split('\n')[0].slice(0, 300);
    return { failed: `${what}: ${message}` };
  }
}

export function maxAbsDiff(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

export function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
