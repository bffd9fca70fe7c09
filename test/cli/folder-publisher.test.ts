/**
 * What bob's Folder publisher (mode Folder, 2025, defold/defold PR #10978) writes:
 * `<output-directory>/defold_resources_<platform><unix seconds>/` holding one `<hex>` file per
 * resource (16-byte header + payload) and `liveupdate.game.dmanifest` (raw, empty header) — here
 * with a `version_levels.json` a studio keeps beside them. `lup validate` and `lup publish` take the
 * folder as it is; the custom file is reported and not published (only zips carry custom files).
 */
import { join } from 'node:path';
import { keys } from '../../lib/core/keys';
import { createContent } from '../../lib/factory/content-factory';
import { writeLooseFolder } from '../../lib/factory/write-content';
import { lup as lupOffline } from '../helpers/cli-run';
import { keysUnder, lup, pointerOf, startTestStack, type TestStack } from '../helpers/pipeline-stack';

describe('a folder written by bob\'s Folder publisher', () => {
  let stack: TestStack;
  let folder: string;
  const content = createContent({ seed: 91, resourceCount: 8, customFiles: [{ name: 'version_levels.json', bytes: Buffer.from('{"levels":["forest"]}\n') }] });
  const excluded = content.resources.length;

  beforeEach(async () => {
    stack = await startTestStack();
    folder = join(stack.dir, 'liveupdate_output', 'defold_resources_web1767225600');
    await writeLooseFolder(content, folder);
  });
  afterEach(async () => { await stack.close(); });

  it('is valid for lup validate, which counts the custom file apart', async () => {
    const run = await lupOffline(['validate', folder]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${folder}: valid — folder, schema 5, ${excluded + 2} entries (${excluded} resources, 1 custom)`);
  });

  it('is published by lup publish: released without the custom file, which it names', async () => {
    const run = await lup(stack, ['publish', folder, '--game', 'folder-game', '--channel', 'stable']);
    expect(run.code).toBe(0);
    expect(run.err).toContain('note: not published (not LiveUpdate resources): version_levels.json');
    const pointer = await pointerOf(stack, 'folder-game', 'stable');
    expect(pointer?.sequence).toBe(1);
    const released = await keysUnder(stack.store, keys.resourcesPrefix('folder-game'));
    expect(released.map((k) => k.slice(keys.resourcesPrefix('folder-game').length)).sort()).toEqual(content.resources.map((r) => r.name).sort());
    expect((await keysUnder(stack.store, keys.contentPrefix('folder-game'))).filter((k) => k.includes('version_levels'))).toEqual([]);
    expect(await keysUnder(stack.store, keys.stagingPrefix('folder-game'))).toEqual([]);
  });
});
