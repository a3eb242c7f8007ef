// progress.js - the native CLI's progress bar on stderr, redrawn in place
// (carriage return) when the whole percent changes:
//   explaining [#########---------------------]  31%
const BAR_WIDTH = 30;

export function progressBar(stream) {
  let lastPercent = -1;
  return {
    update(fraction) {
      const percent = Math.min(100, Math.max(0, Math.trunc(fraction * 100 + 1e-9)));
      if (percent === lastPercent) return;
      lastPercent = percent;
      const filled = Math.trunc((percent * BAR_WIDTH) / 100);
      const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
      stream.write(`\rexplaining [${bar}] ${String(percent).padStart(3)}%`);
    },
    finish() {
      if (lastPercent >= 0) stream.write('\n');
    },
  };
}
