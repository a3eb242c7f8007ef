// npy.mjs - reads NumPy .npy files (format 1.0 to 3.0, C order, little-endian)
// for the Node tests: float32 -> Float32Array, float64 -> Float64Array,
// int32 -> Int32Array, int64 -> Int32Array (range-checked), uint8 -> Uint8Array.
import { readFileSync } from 'node:fs';

const TYPES = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '<i4': Int32Array,
  '<i8': BigInt64Array,
  '|u1': Uint8Array,
};

function parseHeader(bytes) {
  const isMagic = bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY';
  if (!isMagic) throw new Error('not a .npy file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`.npy format version ${major} is not supported`);
  const start = major === 1 ? 10 : 12;
  const length = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + length));
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*True/.test(text);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || shapeText === undefined) throw new Error(`malformed .npy header: ${text}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, fortran, shape, dataStart: start + length };
}

/** Parses .npy bytes (a Uint8Array or Node Buffer) into { shape, dtype, data }. */
export function parseNpy(bytes) {
  const { descr, fortran, shape, dataStart } = parseHeader(bytes);
  if (fortran) throw new Error('.npy in Fortran order is not supported');
  const Type = TYPES[descr];
  if (!Type) throw new Error(`.npy dtype '${descr}' is not supported`);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * Type.BYTES_PER_ELEMENT;
  if (bytes.byteLength < dataStart + byteLength) throw new Error('.npy file is truncated');
  // Copy into a fresh buffer: the data offset need not be aligned for the type,
  // and a Node Buffer may be a view into a larger shared pool (its slice() does not copy).
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataStart, dataStart + byteLength));
  const raw = new Type(copy.buffer);
  if (Type !== BigInt64Array) return { shape, dtype: descr, data: raw };
  const data = Int32Array.from(raw, (v) => {
    if (v > 2147483647n || v < -2147483648n) throw new Error('.npy int64 value does not fit in int32');
    return Number(v);
  });
  return { shape, dtype: descr, data };
}

/** Reads a .npy file from disk. */
export function loadNpy(path) {
  return parseNpy(readFileSync(path));
}
