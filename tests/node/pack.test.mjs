// The npm package as a user gets it: `npm pack`, installed (offline; it has
// no dependencies) into an empty project, then `npx saliency explain` on the
// ResNet50 with threads on and off, against the native CLI's mask (the
// reference): max |difference| <= 1e-4 of the largest |value|.
//
// The reference is SAL_NATIVE_CLI, the default native build, on its portable
// kernels (SAL_BACKEND=portable): it does not fuse multiply-adds (CMake option SAL_FMA, off by default), so it rounds
// like the wasm build and the masks agree bit for bit.  (With fused
// multiply-adds a few of ResNet50's pre-activations near zero change sign,
// and ~2.5% of the gradient moves by up to a quarter of its largest value.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import {
  NATIVE_CLI, NATIVE_ENV, PHOTOS, REPO, RESNET50, maxRelativeDifference, parseNpy,
} from './helpers/goldens.mjs';

const execFileAsync = promisify(execFile);
// A hung child is killed (and its test fails) instead of stalling the suite.
const run = (file, args, options = {}) => execFileAsync(file, args, { timeout: 300_000, ...options });
const PHOTO = `${PHOTOS}/cat.jpg`;
// No network and no update check: everything comes from the tarball.
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

describe('the packed package, installed into an empty project', () => {
  let dir;
  let project;
  let tarball;
  before(async () => {
    assert.ok(existsSync(NATIVE_CLI), `the native CLI is needed at ${NATIVE_CLI} (build it, or set SAL_NATIVE_CLI)`);
    assert.ok(existsSync(`${REPO}dist/saliency-simd.wasm`), 'dist/ is built (npm run build)');
    dir = mkdtempSync(`${tmpdir()}/saliency-pack-`);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO, env: NPM_ENV });
    const [info] = JSON.parse(stdout);
    tarball = { path: `${dir}/${info.filename}`, files: info.files.map((f) => f.path) };
    project = `${dir}/project`;
    await run('mkdir', ['-p', project]);
    writeFileSync(`${project}/package.json`, JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball.path], { cwd: project, env: NPM_ENV });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the tarball holds the wasm builds, web/, bin/ and the types, and no model', () => {
    for (const file of ['dist/saliency-simd.wasm', 'dist/saliency-simd.mjs', 'dist/saliency-simd-threads.wasm',
      'dist/saliency-simd-threads.mjs', 'web/index.js', 'web/index.d.ts', 'web/worker.js', 'web/engine.js',
      'bin/saliency.js', 'package.json']) {
      assert.ok(tarball.files.includes(file), `${file} is packed`);
    }
    for (const file of tarball.files) assert.ok(!/^(src|tests|tools|\.cache|build)/.test(file), `${file} is not packed`);
  });

  test('the installed package imports as an ES module', async () => {
    const script = "import('saliency-wasm').then((m) => console.log(typeof m.Saliency.create, m.METHODS.length))";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    assert.equal(stdout.trim(), 'function 11');
  });

  test('npx saliency explain --npy matches the native CLI, threads on and off', async () => {
    const args = ['explain', '--model', RESNET50, '--image', PHOTO, '--method', 'vanilla'];
    const native = await run(NATIVE_CLI, [...args, '--npy', `${dir}/native.npy`], { env: NATIVE_ENV });
    const want = parseNpy(readFileSync(`${dir}/native.npy`));
    const summary = JSON.parse(native.stdout);
    for (const threads of ['0', '1']) {
      const out = `${dir}/npx-${threads}.npy`;
      const { stdout } = await run('npx', ['--no-install', 'saliency', ...args, '--threads', threads, '--npy', out],
        { cwd: project, env: NPM_ENV });
      const got = parseNpy(readFileSync(out));
      assert.deepEqual(got.shape, [224, 224, 3]);
      const difference = maxRelativeDifference(got.data, want.data);
      assert.ok(difference <= 1e-4, `threads ${threads}: max difference ${difference} of the largest value`);
      const result = JSON.parse(stdout);
      assert.equal(result.target, summary.target);
      assert.equal(result.label, summary.label);
      assert.ok(Math.abs(result.score - summary.score) <= 1e-4 * Math.abs(summary.score));
    }
  });
});
