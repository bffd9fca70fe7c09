/**
 * `lup validate`: the "Done when" cases on the real zip, plus every input kind and the
 * usage errors. Each case writes its modified copy to a temp folder; fixtures stay untouched.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ValidateJson } from '../../lib/cli/validate-command';
import { forEachArchiveEntry, readEntryBytes } from '../../lib/core/format/archive';
import { bytesSource } from '../../lib/core/format/byte-source';
import { hashHex, sha1OfText } from '../../lib/core/format/digest';
import { MANIFEST_NAME } from '../../lib/core/keys';
import { decodeManifest, encodeManifestFile } from '../../lib/core/format/manifest-codec';
import { createContent } from '../../lib/factory/content-factory';
import { writeLooseFolder, writeZip } from '../../lib/factory/write-content';
import { yazlZip } from '../helpers/archive-sources';
import { lup, lupJson } from '../helpers/cli-run';
import { FIXTURE_PROJECT_TITLE, FIXTURE_PUBLIC_KEY_PATH, FIXTURE_ROOT, REAL_BUILDS } from '../helpers/real-fixtures';

const REAL = REAL_BUILDS[2]; // 1.11.2, schema 5
const KEY = ['--public-key', FIXTURE_PUBLIC_KEY_PATH];

/** The entries of a zip, in order, as name + bytes. */
async function readZip(zip: Uint8Array): Promise<{ name: string; content: Uint8Array }[]> {
  const entries: { name: string; content: Uint8Array }[] = [];
  await forEachArchiveEntry(bytesSource(zip), async (entry) => void entries.push({ name: entry.name, content: await readEntryBytes(entry, 64 * 1024 * 1024) }));
  return entries;
}

/** The real zip rebuilt with `change` applied to its entries (deflated, as bob writes them). */
async function rebuiltReal(change: (entries: { name: string; content: Uint8Array }[]) => { name: string; content: Uint8Array }[]): Promise<Buffer> {
  return yazlZip(change(await readZip(readFileSync(REAL.zipPath))));
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lup-validate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('lup validate', () => {
  it('says a real zip is valid, with its entry count, signature and schema (--json)', async () => {
    const { code, json } = await lupJson<ValidateJson>(['validate', REAL.zipPath, ...KEY, '--project-title', FIXTURE_PROJECT_TITLE, '--engine-version', REAL.engineVersion]);
    expect(code).toBe(0);
    expect(json).toEqual({
      valid: true,
      inputs: [{ path: REAL.zipPath, kind: 'zip', valid: true, entryCount: 8, resourceCount: 7, customFiles: [], schema: 'v5', signature: 'valid', errors: [] }],
    });
  });

  it('prints one line per valid input', async () => {
    const run = await lup(['validate', '1f2d09bbbc22/old-version/resources.zip', '89185263829a/alt-version/resources.zip', ...KEY], FIXTURE_ROOT);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe([
      '✔ 1f2d09bbbc22/old-version/resources.zip: valid — zip, schema 5, 8 entries (7 resources, 0 custom), signature valid',
      '✔ 89185263829a/alt-version/resources.zip: valid — zip, schema legacy (header version 4), 8 entries (7 resources, 0 custom), signature valid',
      '',
    ].join('\n'));
  });

  it('names the entry, the expected and the actual digest when one byte inside an entry changed', async () => {
    let changed = '';
    let actual = '';
    const zip = await rebuiltReal((entries) => entries.map((e) => {
      if (e.name === MANIFEST_NAME || changed) return e;
      changed = e.name;
      const content = Uint8Array.from(e.content);
      content[content.length - 1] ^= 0x01;
      actual = hashHex('sha1', content.subarray(16));
      return { ...e, content };
    }));
    const path = await write('flipped.zip', zip);
    const { code, json } = await lupJson<ValidateJson>(['validate', path, ...KEY]);
    expect(code).toBe(1);
    expect(json.valid).toBe(false);
    expect(json.inputs[0].errors).toEqual([
      expect.objectContaining({ code: 'RESOURCE_DIGEST_MISMATCH', location: { file: path, entry: changed }, expected: `SHA1 of the payload = ${changed}`, actual }),
    ]);
  });

  it('refuses a renamed entry: the name no longer matches, and the original is missing', async () => {
    let original = '';
    const renamed = sha1OfText('renamed');
    const zip = await rebuiltReal((entries) => entries.map((e) => {
      if (e.name === MANIFEST_NAME || original) return e;
      original = e.name;
      return { ...e, name: renamed };
    }));
    const { code, json } = await lupJson<ValidateJson>(['validate', await write('renamed.zip', zip)]);
    expect(code).toBe(1);
    expect(json.inputs[0].errors.map((e) => [e.code, e.location?.entry])).toEqual([
      ['RESOURCE_DIGEST_MISMATCH', renamed],
      ['RESOURCE_MISSING', original],
    ]);
  });

  it('refuses an entry renamed to a non-digest name as missing, and lists it as a custom file', async () => {
    let original = '';
    const zip = await rebuiltReal((entries) => entries.map((e) => {
      if (e.name === MANIFEST_NAME || original) return e;
      original = e.name;
      return { ...e, name: `${e.name}.bak` };
    }));
    const { code, json } = await lupJson<ValidateJson>(['validate', await write('renamed.zip', zip)]);
    expect(code).toBe(1);
    expect(json.inputs[0].customFiles).toEqual([`${original}.bak`]);
    expect(json.inputs[0].errors).toEqual([expect.objectContaining({ code: 'RESOURCE_MISSING', location: expect.objectContaining({ entry: original }) })]);
  });

  it('refuses a truncated zip as unreadable (ARCHIVE_UNREADABLE)', async () => {
    const bytes = readFileSync(REAL.zipPath);
    const { code, json } = await lupJson<ValidateJson>(['validate', await write('truncated.zip', bytes.subarray(0, bytes.length - 1000))]);
    expect(code).toBe(1);
    expect(json.inputs[0]).toMatchObject({ kind: 'zip', valid: false, schema: null, signature: null });
    expect(json.inputs[0].errors.map((e) => e.code)).toEqual(['ARCHIVE_UNREADABLE']);
  });

  it('refuses a manifest whose signature was corrupted, with --public-key (SIGNATURE_INVALID)', async () => {
    const zip = await rebuiltReal((entries) => entries.map((e) => {
      if (e.name !== MANIFEST_NAME) return e;
      const manifest = decodeManifest(e.content);
      const signature = Uint8Array.from(manifest.signature);
      signature[10] ^= 0xff;
      return { ...e, content: encodeManifestFile({ ...manifest, signature }) };
    }));
    const { code, json } = await lupJson<ValidateJson>(['validate', await write('resigned.zip', zip), ...KEY]);
    expect(code).toBe(1);
    expect(json.inputs[0].signature).toBe('invalid');
    expect(json.inputs[0].errors).toEqual([expect.objectContaining({ code: 'SIGNATURE_INVALID', location: expect.objectContaining({ entry: MANIFEST_NAME, field: 'signature' }) })]);
  });

  it('refuses a wrong --project-title, and prints the error text', async () => {
    const run = await lup(['validate', '1f2d09bbbc22/old-version/resources.zip', '--project-title', 'Other Game'], FIXTURE_ROOT);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatchInlineSnapshot(`
"✖ 1f2d09bbbc22/old-version/resources.zip: 1 error
  MANIFEST_PROJECT_MISMATCH: The manifest was built from another project than "Other Game"; check project.title in game.project or the game's configured projectTitle.
    at 1f2d09bbbc22/old-version/resources.zip, entry liveupdate.game.dmanifest, field data.header.project_identifier
    expected: SHA-1 of project title "Other Game" (ac0a9b419c10ae5baa49c1911955c4860756b85d)
    actual:   82547cf07098501a597cdc53426a04b15825edee
"
`);
  });

  it('requires every --engine-version given (repeatable)', async () => {
    const { code, json } = await lupJson<ValidateJson>(['validate', REAL.zipPath, '--engine-version', '1.11.2', '--engine-version', '1.6.2']);
    expect(code).toBe(1);
    expect(json.inputs[0].errors).toEqual([expect.objectContaining({ code: 'MANIFEST_ENGINE_UNSUPPORTED', expected: expect.stringContaining('"1.6.2"') })]);
  });

  it('refuses an unsigned manifest with --public-key unless --allow-unsigned', async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const keyPath = await write('game.public.pem', Buffer.from(keys.publicKey.export({ type: 'spki', format: 'pem' })));
    const zip = join(dir, 'unsigned.zip');
    await writeZip(createContent({ seed: 1, resourceCount: 10 }), zip);
    const refused = await lupJson<ValidateJson>(['validate', zip, '--public-key', keyPath]);
    expect(refused.code).toBe(1);
    expect(refused.json.inputs[0].errors.map((e) => e.code)).toEqual(['SIGNATURE_MISSING']);
    const accepted = await lupJson<ValidateJson>(['validate', zip, '--public-key', keyPath, '--allow-unsigned']);
    expect(accepted.code).toBe(0);
    expect(accepted.json.inputs[0].signature).toBe('missing');
  });

  it('validates a loose folder, a manifest alone and a single resource file', async () => {
    const content = createContent({ seed: 3, resourceCount: 12 });
    const folder = join(dir, 'loose');
    await writeLooseFolder(content, folder);
    const resource = join(folder, content.resources[0].name);
    const manifest = join(folder, MANIFEST_NAME);
    const { code, json } = await lupJson<ValidateJson>(['validate', folder, manifest, resource]);
    expect(code).toBe(0);
    expect(json.inputs.map((i) => [i.kind, i.valid, i.entryCount, i.resourceCount, i.schema])).toEqual([
      ['folder', true, content.resources.length + 1, content.resources.length, 'v5'],
      ['manifest', true, 1, 0, 'v5'],
      ['resource', true, 1, 1, null],
    ]);
  });

  it('refuses a loose folder with a changed resource, naming the file', async () => {
    const content = createContent({ seed: 3, resourceCount: 12 });
    await writeLooseFolder(content, dir);
    const name = content.resources[1].name;
    const bytes = await readFile(join(dir, name));
    bytes[bytes.length - 1] ^= 1;
    await writeFile(join(dir, name), bytes);
    const { code, json } = await lupJson<ValidateJson>(['validate', dir]);
    expect(code).toBe(1);
    expect(json.inputs[0].errors).toEqual([expect.objectContaining({ code: 'RESOURCE_DIGEST_MISMATCH', location: { file: join(dir, name), entry: name } })]);
  });

  it('refuses a single resource file whose bytes do not match its name', async () => {
    const [resource] = createContent({ seed: 3, resourceCount: 12 }).resources;
    const changed = Uint8Array.from(resource.bytes);
    changed[20] ^= 1;
    const { code, json } = await lupJson<ValidateJson>(['validate', await write(resource.name, changed)]);
    expect(code).toBe(1);
    expect(json.inputs[0]).toMatchObject({ kind: 'resource', errors: [expect.objectContaining({ code: 'RESOURCE_DIGEST_MISMATCH' })] });
  });

  it('reports a file that is no manifest as MANIFEST_UNREADABLE', async () => {
    const { code, json } = await lupJson<ValidateJson>(['validate', await write('notes.dmanifest', Buffer.from('hello, not protobuf'))]);
    expect(code).toBe(1);
    expect(json.inputs[0]).toMatchObject({ kind: 'manifest', errors: [expect.objectContaining({ code: 'MANIFEST_UNREADABLE' })] });
  });

  it('is invalid as a whole when one of several inputs is', async () => {
    const bad = await write('bad.zip', Buffer.from('PK\x03\x04 not really'));
    const { code, json } = await lupJson<ValidateJson>(['validate', REAL.zipPath, bad]);
    expect(code).toBe(1);
    expect(json.valid).toBe(false);
    expect(json.inputs.map((i) => i.valid)).toEqual([true, false]);
  });

  it('exits 2 naming a path that does not exist, before validating anything', async () => {
    const missing = join(dir, 'nope.zip');
    const run = await lup(['validate', REAL.zipPath, missing]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`"${missing}" does not exist`);
  });

  it('exits 2 naming --public-key when the key file cannot be read', async () => {
    const run = await lup(['validate', REAL.zipPath, '--public-key', join(dir, 'missing.der')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --public-key=".*missing\.der" cannot be read \(ENOENT\)/);
  });

  it('exits 2 naming --public-key when the file is not a key', async () => {
    const run = await lup(['validate', REAL.zipPath, '--public-key', await write('key.der', Buffer.from('garbage'))]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--public-key=');
    expect(run.stderr).toContain('is not a public key');
  });

  it('accepts the key as a PEM file as well as DER', async () => {
    const pemPath = join(dir, 'key.pem');
    const der = readFileSync(FIXTURE_PUBLIC_KEY_PATH);
    await writeFile(pemPath, `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PUBLIC KEY-----\n`);
    await copyFile(REAL.zipPath, join(dir, 'r.zip'));
    const { code, json } = await lupJson<ValidateJson>(['validate', 'r.zip', '--public-key', 'key.pem'], dir);
    expect(code).toBe(0);
    expect(json.inputs[0].signature).toBe('valid');
  });

  it('exits 2 without a path', async () => {
    const run = await lup(['validate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("missing required argument 'path'");
  });

  it('explains every option with an example in --help', async () => {
    const run = await lup(['validate', '--help']);
    expect(run.code).toBe(0);
    for (const text of ['--project-title "My Game"', '--public-key game.public.der', '--allow-unsigned', '--engine-version 1.9.0', '--json', 'Exit codes']) {
      expect(run.stdout).toContain(text);
    }
  });
});
