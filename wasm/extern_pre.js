// extern_pre.js - runs first, at the top level of the generated ES module.
// Emscripten 3.1.6's Node code calls require() and reads __dirname, which an
// ES module does not have: define both under Node only.  Declaring them here
// also keeps bundlers from resolving the glue's require('fs') for browsers.
var require, __dirname;
if (typeof process === 'object' && typeof process.versions === 'object' &&
    typeof process.versions.node === 'string') {
  const { createRequire } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:module');
  require = createRequire(import.meta.url);
  __dirname = require('node:path').dirname(require('node:url').fileURLToPath(import.meta.url));
}
