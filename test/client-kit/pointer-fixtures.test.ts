/**
 * The Lua client's pointer fixtures against the one pointer definition (the pointer codec over
 * lib/core/documents/schemas/pointer.schema.json): the ones the client applies are valid pointers,
 * the ones it refuses as DOCUMENT_INVALID are refused by the codec for the same field, and the ones
 * it refuses as POINTER_UNUSABLE are valid pointers the client still cannot apply.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pointerCodec } from '../../lib/core/documents/pointer';
import { CLIENT_KIT_DIR } from '../helpers/lua-toolchain';

interface Fixture { readonly file: string; readonly schemaValid: boolean; readonly lua: string; readonly field?: string }

const DIR = join(CLIENT_KIT_DIR, 'spec', 'fixtures', 'pointers');
const fixtures = (JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as { fixtures: Fixture[] }).fixtures;

describe('client kit pointer fixtures', () => {
  it('cover valid pointers, schema violations and pointers only the client refuses', () => {
    expect(fixtures.filter((f) => f.lua === 'ok').length).toBeGreaterThanOrEqual(2);
    expect(fixtures.filter((f) => f.lua === 'DOCUMENT_INVALID').length).toBeGreaterThanOrEqual(8);
    expect(fixtures.filter((f) => f.lua === 'POINTER_UNUSABLE').length).toBeGreaterThanOrEqual(2);
  });

  it.each(fixtures.filter((f) => f.schemaValid))('$file is a valid pointer (codec decode and encode)', ({ file, lua }) => {
    const decoded = pointerCodec.decode(readFileSync(join(DIR, file)), { file });
    expect(decoded.ok ? [] : decoded.errors.map((e) => `${e.location?.field}: ${e.message}`)).toEqual([]);
    if (decoded.ok) expect(() => pointerCodec.encode(decoded.value)).not.toThrow();
    expect(['ok', 'POINTER_UNUSABLE']).toContain(lua);
  });

  it.each(fixtures.filter((f) => !f.schemaValid))('$file is refused by the codec at $field, as the Lua client refuses it', ({ file, field, lua }) => {
    const decoded = pointerCodec.decode(readFileSync(join(DIR, file)), { file });
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.errors.map((e) => e.location?.field)).toContain(field);
      expect(decoded.errors.every((e) => e.code === 'DOCUMENT_INVALID')).toBe(true);
    }
    expect(lua).toBe('DOCUMENT_INVALID');
  });
});
