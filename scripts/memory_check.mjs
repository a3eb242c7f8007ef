#!/usr/bin/env node
// memory_check.mjs - consecutive explain calls (vanilla gradients, the
// ResNet50 of the asset cache, 200 by default) in one Node process through
// the public API, printing the wasm heap and the process's resident memory
// every 20 calls: first with the engine in this thread, then in a worker.
// Every call frees what it allocates in the wasm module, so the heap must not
// grow at all.  Resident memory also holds the garbage JavaScript has not
// collected yet: each call leaves a few MB of image and mask buffers behind,
// which V8 collects lazily, later in a worker (whose garbage a gc() here
// cannot reach) than in this thread.  Run with `node --expose-gc` so that
// this thread's garbage is collected before each reading.
//
//   node --expose-gc scripts/memory_check.mjs [--calls 200] [--every 20] [--threads N] [--mode both|direct|worker]
//   SAL_CACHE_DIR  the asset cache (default <repo>/.cache)
// Exit status 1 when the wasm heap grew, or resident memory without a worker
// moved by 5% or more after the first report.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Saliency } from '../web/index.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const assets = `${process.env.SAL_CACHE_DIR ?? `${repo}.cache`}/assets`;
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    every: { type: 'string', default: '20' },
    threads: { type: 'string', default: '0' },
    mode: { type: 'string', default: 'both' },
  },
});
const calls = Number(values.calls);
const every = Number(values.every);
const MiB = 2 ** 20;

function signed(value) {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}

async function measure(worker) {
  const session = await Saliency.create({ worker, threads: Number(values.threads) });
  await session.loadModel(`${assets}/resnet50/model.json`, { preprocess: 'caffe' });
  const photo = await session.decodeImage(`${assets}/photos/cat.jpg`);
  console.log(`\nexplain x ${calls}, vanilla, ResNet50, cat.jpg (${photo.width} x ${photo.height}); ${session.variant}, ` +
    `${session.threads} threads, ${worker ? 'in a worker' : 'no worker'}`);
  console.log('calls   wasm heap MiB   process RSS MiB   ms per call');
  const rows = [];
  let started = performance.now();
  for (let call = 1; call <= calls; call++) {
    await session.explain(photo, { method: 'vanilla' });
    if (call % every === 0 || call === 1) {
      const ms = (performance.now() - started) / (call === 1 ? 1 : every);
      globalThis.gc?.();
      const heap = (await session.heapBytes()) / MiB;
      const rss = process.memoryUsage().rss / MiB;
      rows.push({ call, heap, rss });
      console.log(`${String(call).padStart(5)}   ${heap.toFixed(1).padStart(13)}   ${rss.toFixed(1).padStart(15)}   ` +
        `${ms.toFixed(0).padStart(11)}`);
      started = performance.now();
    }
  }
  session.dispose();
  const settled = rows.filter((row) => row.call >= every);
  const heapGrowth = settled.at(-1).heap - settled[0].heap;
  const rssGrowth = settled.at(-1).rss - settled[0].rss;
  console.log(`from call ${settled[0].call} to ${settled.at(-1).call}: wasm heap ${signed(heapGrowth)} MiB, ` +
    `RSS ${signed(rssGrowth)} MiB (${signed((100 * rssGrowth) / settled[0].rss)}%)`);
  return { heapGrowth, rssShare: Math.abs(rssGrowth) / settled[0].rss };
}

if (!globalThis.gc) console.log('(run with node --expose-gc for steadier RSS figures)');
let ok = true;
if (values.mode !== 'worker') {
  const direct = await measure(false);
  ok &&= direct.heapGrowth <= 0 && direct.rssShare < 0.05;
}
if (values.mode !== 'direct') {
  const inWorker = await measure(true);
  ok &&= inWorker.heapGrowth <= 0;
}
console.log(ok ? '\nwasm heap flat; RSS flat without a worker' : '\nNOT flat');
process.exitCode = ok ? 0 : 1;
