// npy.js - float32 arrays as NumPy .npy bytes (format 1.0, little-endian),
// laid out byte for byte as the C library writes them (src/bytes/npy.c).

export function encodeNpy(data, shape) {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RangeError(`npy: ${data.length} values do not fill shape (${shape.join(', ')})`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const padded = Math.ceil((10 + header.length + 1) / 64) * 64 - 10;
  header = header.padEnd(padded - 1, ' ') + '\n';
  const bytes = new Uint8Array(10 + padded + 4 * count);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded & 0xff, padded >> 8]);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  const view = new DataView(bytes.buffer, 10 + padded);
  for (let i = 0; i < count; i++) view.setFloat32(4 * i, data[i], true);
  return bytes;
}
