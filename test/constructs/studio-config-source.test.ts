import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { formatConfigErrors, loadStudioConfig } from '../../lib/constructs/studio-config-source';

const ROOT = path.resolve(__dirname, '..', '..');

function fileWith(content: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'lup-config-')), 'studio.json');
  writeFileSync(file, content);
  return file;
}

const GOOD_GAME = { id: 'g1', projectTitle: 'Space Game' };

describe(loadStudioConfig, () => {
  test('loads examples/studio.json when asked for the example: two games, one with the real public key', () => {
    const result = loadStudioConfig({ cwd: ROOT, example: true });
    expect(result).toMatchObject({ ok: true, source: path.join(ROOT, 'examples', 'studio.json') });
    if (!result.ok) throw new Error('unreachable');
    expect(result.config.games.map((g) => g.id)).toEqual(['space-game', 'reszip-demo']);
    expect(result.config.games[1]).toMatchObject({ projectTitle: 'liveupdate_reszip_demo', publicKey: expect.stringMatching(/^MIIBIjAN/) });
  });

  test('takes -c studioConfig as a JSON string, before any file', () => {
    const result = loadStudioConfig({ configJson: JSON.stringify({ studio: 'acme', games: [GOOD_GAME] }), configFile: 'missing.json' });
    expect(result).toMatchObject({ ok: true, source: '-c studioConfig', config: { studio: 'acme' } });
  });

  test('reads -c config relative to the working folder', () => {
    const file = fileWith(JSON.stringify({ games: [GOOD_GAME] }));
    expect(loadStudioConfig({ configFile: path.basename(file), cwd: path.dirname(file) })).toMatchObject({ ok: true, source: file });
  });

  test('names the flag when the file cannot be read', () => {
    const result = loadStudioConfig({ configFile: '/nonexistent/studio.json' });
    expect(result).toMatchObject({ ok: false, errors: [{ code: 'INPUT_NOT_FOUND', location: { flag: '-c config', file: '/nonexistent/studio.json' } }] });
  });

  test('reports malformed JSON', () => {
    expect(loadStudioConfig({ configFile: fileWith('{ "games": [') })).toMatchObject({ ok: false, errors: [{ code: 'CONFIG_INVALID' }] });
  });

  test.each([
    ['a duplicate game id', [GOOD_GAME, { ...GOOD_GAME }], 'games[1].id', /used twice/],
    ['an empty project title', [{ id: 'g1', projectTitle: ' ' }], 'games[0].projectTitle', /project title/],
    ['a malformed public key', [{ ...GOOD_GAME, publicKey: 'bm90IGEga2V5' }], 'games[0].publicKey', /public key/],
    ['an auto-release channel the game does not have', [{ ...GOOD_GAME, autoReleaseChannel: 'nightly' }], 'games[0].autoReleaseChannel', /channels/],
  ])('refuses %s, naming the field', (_name, games, field, message) => {
    const result = loadStudioConfig({ configJson: JSON.stringify({ games }) });
    expect(result.ok).toBe(false);
    if (result.ok) throw new Error('unreachable');
    expect(result.errors).toEqual([expect.objectContaining({ location: { field }, message: expect.stringMatching(message) })]);
  });

  test('reports several mistakes together, each naming its field', () => {
    const result = loadStudioConfig({
      configJson: JSON.stringify({ colour: 'red', games: [{ id: 'g1', projectTitle: '' }, { id: 'g1', projectTitle: 'X', publicKey: 'nope' }] }),
    });
    if (result.ok) throw new Error('expected problems');
    expect(result.errors.map((e) => e.location?.field)).toEqual(['colour', 'games[0].projectTitle', 'games[1].publicKey', 'games[1].id']);
    const printed = formatConfigErrors(result.source, result.errors);
    expect(printed.split('\n')[0]).toBe('The studio configuration (-c studioConfig) has 4 problems; nothing was synthesised:');
    for (const field of ['colour', 'games[0].projectTitle', 'games[1].publicKey', 'games[1].id']) expect(printed).toContain(`at field ${field}`);
  });
});
