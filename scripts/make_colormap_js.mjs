#!/usr/bin/env node
// Writes web/colormap_tables.js from src/visualization/colormap_tables.c, so
// that the JavaScript colouring (web/visualize.js) uses the very numbers the C
// library uses.  Run by `npm run build`; tests/node/visualize.test.mjs checks
// the JavaScript colours against the wasm build's.
import { readFileSync, writeFileSync } from 'node:fs';

const repo = new URL('..', import.meta.url);
const source = readFileSync(new URL('src/visualization/colormap_tables.c', repo), 'utf8');
const tables = {};
for (const match of source.matchAll(/const float sal_(\w+)_table\[256\]\[3\] = \{([^;]*)\};/g)) {
  const numbers = [...match[2].matchAll(/(-?[0-9.eE+-]+)f/g)].map((m) => m[1]);
  if (numbers.length !== 768) throw new Error(`${match[1]}: ${numbers.length} numbers, expected 768`);
  tables[match[1]] = numbers;
}
for (const name of ['inferno', 'viridis', 'jet']) {
  if (!tables[name]) throw new Error(`colormap_tables.c has no ${name} table`);
}
const lines = [
  '// colormap_tables.js - the 256-entry colour tables of src/visualization/colormap_tables.c',
  '// (matplotlib\'s, RGB in [0, 1], as float32).  Written by scripts/make_colormap_js.mjs: do not edit.',
  '',
];
for (const [name, numbers] of Object.entries(tables)) {
  lines.push(`export const ${name} = new Float32Array([`);
  for (let i = 0; i < 768; i += 6) lines.push(`  ${numbers.slice(i, i + 6).join(', ')},`);
  lines.push(']);', '');
}
writeFileSync(new URL('web/colormap_tables.js', repo), lines.join('\n'));
