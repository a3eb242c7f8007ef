// serve.mjs - a small static server for the demo page (plain Node, no dependencies).
//
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--no-isolation]
//
// Serves the repository's demo/, web/ and dist/ folders, and the asset cache
// (model and photos) under /assets/.  By default every response carries the
// COOP/COEP headers that make the page cross-origin isolated, which the
// threaded WebAssembly build needs (SharedArrayBuffer); --no-isolation leaves
// them out, and the page then runs single-threaded.  Prints one line,
// `serving http://HOST:PORT/demo/`, once it listens.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.bin': 'application/octet-stream',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

function defaultAssetsDir(root) {
  const cache = process.env.SAL_CACHE_DIR ? resolve(process.env.SAL_CACHE_DIR) : resolve(root, '.cache');
  return resolve(cache, 'assets');
}

// URL prefix -> folder on disk.
function mountsOf(root, assets) {
  return [
    ['/demo/', resolve(root, 'demo')],
    ['/web/', resolve(root, 'web')],
    ['/dist/', resolve(root, 'dist')],
    ['/assets/', resolve(assets)],
  ];
}

// The file a URL path names, or null when it is outside every mount.
function fileFor(pathname, mounts) {
  for (const [prefix, folder] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    let rest = pathname.slice(prefix.length);
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const file = resolve(folder, rest);
    return file.startsWith(folder + sep) ? { file, folder } : null;
  }
  return null;
}

function send(response, status, headers, body = '') {
  response.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(body);
}

// A regular file inside its folder even after symlinks are followed, or null.
async function readableFile({ file, folder }) {
  try {
    const [real, realFolder] = await Promise.all([realpath(file), realpath(folder)]);
    if (!real.startsWith(realFolder + sep)) return null;
    const info = await stat(real);
    return info.isFile() ? { path: real, size: info.size } : null;
  } catch {
    return null;
  }
}

function decodedPath(url) {
  try {
    return decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return null;
  }
}

async function handle(request, response, { mounts, isolation }) {
  const headers = {
    ...(isolation ? ISOLATION_HEADERS : {}),
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, { ...headers, Allow: 'GET, HEAD' }, 'method not allowed\n');
    return;
  }
  const pathname = decodedPath(request.url);
  if (pathname === null || pathname.includes('\0')) {
    send(response, 400, headers, 'bad request\n');
    return;
  }
  if (pathname === '/' || pathname === '/demo') {
    response.writeHead(302, { ...headers, Location: '/demo/' });
    response.end();
    return;
  }
  const target = fileFor(pathname, mounts);
  if (!target) {
    send(response, 403, headers, 'forbidden: only /demo/, /web/, /dist/ and /assets/ are served\n');
    return;
  }
  const found = await readableFile(target);
  if (!found) {
    send(response, 404, headers, `not found: ${pathname}\n`);
    return;
  }
  const type = CONTENT_TYPES[extname(found.path).toLowerCase()] ?? 'application/octet-stream';
  response.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': found.size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const stream = createReadStream(found.path);
  stream.on('error', () => response.destroy());
  stream.pipe(response);
}

export function startServer({ port = 0, host = '127.0.0.1', isolation = true, root = REPO, assets } = {}) {
  const mounts = mountsOf(resolve(root), assets ?? defaultAssetsDir(resolve(root)));
  const server = createServer((request, response) => {
    handle(request, response, { mounts, isolation }).catch((error) => {
      if (!response.headersSent) send(response, 500, {}, `server error: ${error.message}\n`);
      else response.destroy();
    });
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: actual } = server.address();
      const origin = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
      const close = () => new Promise((done) => {
        server.close(() => done());
        server.closeAllConnections?.();
      });
      resolvePromise({ url: `${origin}/demo/`, origin, close });
    });
  });
}

function usage() {
  return 'usage: node scripts/serve.mjs [--port N] [--host ADDRESS] [--no-isolation]\n' +
    '  --port N        port to listen on (default: $PORT or 8080; 0 = any free port)\n' +
    '  --host ADDRESS  address to listen on (default 127.0.0.1)\n' +
    '  --no-isolation  leave out the COOP/COEP headers (the page then runs single-threaded)\n';
}

function parsePort(text, where) {
  const port = Number(text);
  if (!/^\d+$/.test(String(text)) || port > 65535) throw new Error(`${where}: '${text}' is not a port number (0-65535)`);
  return port;
}

function parseArguments(argv, env) {
  const options = { port: env.PORT ? parsePort(env.PORT, 'PORT') : 8080, host: '127.0.0.1', isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--port') options.port = parsePort(value(), '--port');
    else if (flag === '--host') options.host = value();
    else if (flag === '--no-isolation') options.isolation = false;
    else if (flag === '--help' || flag === '-h') options.help = true;
    else throw new Error(`unknown option '${argv[i]}'`);
  }
  return options;
}

async function main() {
  let options;
  try {
    options = parseArguments(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`serve: ${error.message}\n${usage()}`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(usage());
    return;
  }
  try {
    const { url } = await startServer(options);
    process.stdout.write(`serving ${url}\n`);
  } catch (error) {
    process.stderr.write(`serve: cannot listen on ${options.host}:${options.port}: ${error.message}\n`);
    process.exit(1);
  }
}

async function isMainModule() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(await realpath(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (await isMainModule()) await main();
