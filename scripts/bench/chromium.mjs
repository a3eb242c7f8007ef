#!/usr/bin/env node
// chromium.mjs - one benchmark configuration in headless Chromium: serves the
// repository (web/, dist/, scripts/bench/, node_modules/@tensorflow/) with
// cross-origin isolation (so SharedArrayBuffer and threads work), plus the
// model under /bench-model/ and the photo at /bench-photo, opens page.html
// in a fresh profile and calls window.runBench.  Prints like node_run.mjs:
// "BENCH_PARTIAL {json}" after each figure and "BENCH_RESULT {json}".
//
//   node scripts/bench/chromium.mjs ours|tfjs [options of cli.mjs]
//   SAL_CHROMIUM: the browser (default /usr/bin/chromium); SAL_BENCH_DEBUG=1 logs every request.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { parseRunnerArgs } from './cli.mjs';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHROMIUM = process.env.SAL_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SERVED = ['web', 'dist', 'scripts/bench', 'node_modules/@tensorflow'];
const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.jpg': 'image/jpeg', '.png': 'image/png',
};
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

const cfg = parseRunnerArgs(process.argv.slice(2), 'node scripts/bench/chromium.mjs');
const log = (text) => process.stderr.write(`  [chromium ${cfg.kind}] ${text}\n`);

/* The file a URL path names, or null when it is outside what is served. */
function fileFor(path) {
  if (path === '/bench-photo') return resolve(cfg.photo);
  if (path.startsWith('/bench-model/')) {
    const dir = dirname(resolve(cfg.model));
    const file = resolve(dir, path.slice('/bench-model/'.length));
    return file.startsWith(dir + sep) ? file : null;
  }
  const file = resolve(REPO, `.${path}`);
  return SERVED.some((root) => file.startsWith(join(REPO, root) + sep)) ? file : null;
}

function serve() {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    if (path === '/favicon.ico') {
      response.writeHead(204, ISOLATION).end();
      return;
    }
    const file = fileFor(path);
    if (process.env.SAL_BENCH_DEBUG) log(`GET ${path}`);
    try {
      if (!file) throw new Error('not served');
      const data = await readFile(file);
      const type = TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
      response.writeHead(200, { ...ISOLATION, 'Content-Type': type });
      response.end(data);
    } catch {
      response.writeHead(404, ISOLATION).end();
    }
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

async function main() {
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'saliency-bench-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    const page = await context.newPage();
    page.on('console', (message) => {
      const text = message.text();
      if (text.startsWith('BENCH_PARTIAL ')) process.stdout.write(`${text}\n`);
      else if (text.startsWith('BENCH_LOG ')) log(text.slice('BENCH_LOG '.length));
      else if (message.type() === 'error') log(`page error: ${text}`);
    });
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/scripts/bench/page.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const record = await page.evaluate((c) => window.runBench(c), cfg);
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(record)}\n`);
  } finally {
    await context?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

await main();
