import * as fc from 'fast-check';
import { murmurHash64, murmurHash64Reference, urlHash } from '../../../lib/core/format/murmur';

/**
 * Pinned values for every tail length (0..7) twice over, computed once with
 * murmurHash64Reference (a line-by-line transcription of bob's MurmurHash.java). Inputs: the first
 * n bytes of an url, and n bytes with the high bit set (catches sign-extension mistakes, as Java
 * bytes are signed). The real manifests (real-fixtures.test.ts) pin the reference to bob itself.
 */
const URL = '/levels/level_003/tile_0042.texturec';
const highBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (0xff - i * 13) & 0xff);
const VECTORS: readonly [number, bigint, bigint][] = [
  [0, 0x0000000000000000n, 0x0000000000000000n],
  [1, 0xedecdc43cfcb5f26n, 0x3c4b34283cf50f7fn],
  [2, 0x1186ac8e1eef7ce2n, 0x1e13d5f8be2659f3n],
  [3, 0x698129b7c6ebdcban, 0x0611e6aca20e3034n],
  [4, 0x304e1624b93b0c7an, 0xbc6201e4e300e359n],
  [5, 0x506878581c459c95n, 0x500f4aeb311dd2a9n],
  [6, 0xf9e29441b1844f7cn, 0x3fd6d93eaf194262n],
  [7, 0x9e44b1a62743c297n, 0x6c81683b530417efn],
  [8, 0x0c15a20ef6e84d03n, 0x13335d910528dc86n],
  [9, 0xfeea4bd9db3cdfacn, 0xef7022cec5565e6dn],
  [10, 0x81902a898bce911dn, 0x609b4fca14b8f370n],
  [11, 0xa6d2797e9d9be256n, 0xf827fc18eb37deb9n],
  [12, 0x8de398c6c4fa7959n, 0xf72b42dc11f10078n],
  [13, 0xcd90b1cc0d6bc3b4n, 0x97e002cdad3469e0n],
  [14, 0xc5ab44fa20a0be7fn, 0x2c31f26619e19a99n],
  [15, 0xd7bc20ff736d80e8n, 0x8ab701f135b1d340n],
  [16, 0x0748b1024a2188c3n, 0x8c9f4a8a1fcfdc46n],
  [17, 0xb7e49080903e328bn, 0x6b4eb85b932668f1n],
];

describe(murmurHash64, () => {
  it.each(VECTORS)('hashes the %i-byte url prefix and high-bit bytes to the pinned values', (n, ascii, high) => {
    const prefix = Buffer.from(URL.slice(0, n), 'utf8');
    expect(murmurHash64(prefix)).toBe(ascii);
    expect(murmurHash64Reference(prefix)).toBe(ascii);
    expect(murmurHash64(highBytes(n))).toBe(high);
    expect(murmurHash64Reference(highBytes(n))).toBe(high);
  });

  it('equals the BigInt reference for random byte arrays', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => murmurHash64(bytes) === murmurHash64Reference(bytes)),
      { numRuns: 2000 },
    );
  });

  it('always returns an unsigned 64-bit value', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const h = murmurHash64(bytes);
      return h >= 0n && h < 1n << 64n;
    }), { numRuns: 500 });
  });
});

describe(urlHash, () => {
  it('hashes the UTF-8 bytes of the url', () => {
    const url = '/levels/niveau_été/tile.texturec';
    expect(urlHash(url)).toBe(murmurHash64Reference(Buffer.from(url, 'utf8')));
  });
});
