import * as zlib from 'node:zlib';
import { crc32, crc32Portable } from '../../../lib/core/format/crc32';

describe(crc32, () => {
  it('matches the standard check value', () => {
    // The CRC-32/ISO-HDLC check value of "123456789".
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('continues across chunks, natively and portably', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const whole = crc32(data);

    expect(crc32(data.subarray(10), crc32(data.subarray(0, 10)))).toBe(whole);
    expect(crc32Portable(data.subarray(10), crc32Portable(data.subarray(0, 10)))).toBe(whole);
    expect(crc32Portable(new Uint8Array(0))).toBe(0);
  });

  const native = (zlib as { crc32?: unknown }).crc32;
  (native ? it : it.skip)('agrees with zlib.crc32 on random data', () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7919) & 0xff));
    expect(crc32Portable(data)).toBe((native as (d: Uint8Array) => number)(data));
  });
});
