/**
 * CRC-32 (IEEE 802.3, the zip checksum), incremental.
 *
 * `zlib.crc32` exists only from Node 20.15 / 22.2 on and our engines field allows any Node 20,
 * so a table-driven fallback covers older runtimes.
 * @see https://nodejs.org/api/zlib.html#zlibcrc32data-value
 */
import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

const native: Crc32Fn | undefined = (zlib as { crc32?: Crc32Fn }).crc32;

let table: Uint32Array | undefined;

function fallbackCrc32(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * The CRC-32 of `data`, continuing from `value` (the CRC of the bytes before it), as an unsigned
 * 32-bit number, the form zip headers store.
 *
 * @param value - CRC of the preceding bytes. @default 0 - start of the data
 */
export function crc32(data: Uint8Array, value = 0): number {
  return native ? native(data, value) >>> 0 : fallbackCrc32(data, value);
}

/** The table-driven implementation, exported so tests can pin it against `zlib.crc32`. */
export const crc32Portable: (data: Uint8Array, value?: number) => number = fallbackCrc32;
