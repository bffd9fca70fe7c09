/**
 * docs/deploy.md says what the stack, the CDK app and the cache policy do (issue 11): each claim
 * below is read from the document and compared with the code or a real run, so a change on one
 * side fails here until the other follows.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { STUDIO_APP_CONTEXT_KEYS } from '../../lib/constructs/studio-app';
import { StudioStack } from '../../lib/constructs/studio-stack';
import { validateStudioConfig } from '../../lib/core/config';
import { CHANNEL_CACHE } from '../../lib/http-policy';
import { exampleConfig, testApp, text } from '../constructs/helpers';
import { ROOT } from '../helpers/lup-process';

const DEPLOY = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
const oneLine = (s: string): string => s.replace(/\s+/g, ' ');

describe('docs/deploy.md', () => {
  test('its context table lists every -c key the CDK app reads, and the app reads only those', () => {
    const sources = ['bin/app.ts', 'lib/constructs/studio-app.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    const read = [...sources.matchAll(/(?:tryGetContext\(|booleanContext\(app, )'([A-Za-z]+)'/g)].map((m) => m[1]);
    expect([...new Set(read)].sort()).toEqual([...STUDIO_APP_CONTEXT_KEYS].sort());
    const table = [...DEPLOY.matchAll(/^\| `-c ([A-Za-z]+)=/gm)].map((m) => m[1]);
    expect([...table].sort()).toEqual([...STUDIO_APP_CONTEXT_KEYS].sort());
  });

  test('states the pointer cache lifetime the cache policy sets, within what CloudFront honours', () => {
    const stated = /the pointer \(`Cache-Control: ([^`]+)`: players and CloudFront keep it (\d+) s/.exec(oneLine(DEPLOY));
    expect(stated).not.toBeNull();
    expect(stated![1]).toBe(CHANNEL_CACHE.cacheControl);
    const maxAge = Number(/max-age=(\d+)/.exec(CHANNEL_CACHE.cacheControl)![1]);
    expect(Number(stated![2])).toBe(maxAge);
    // CloudFront uses the origin's max-age when it lies within the cache policy's bounds.
    expect(maxAge).toBeGreaterThanOrEqual(CHANNEL_CACHE.cdnMinTtlSeconds);
    expect(maxAge).toBeLessThanOrEqual(CHANNEL_CACHE.cdnMaxTtlSeconds);
  });

  test('gives a command whose output is a publicKey the configuration accepts', () => {
    const command = /^openssl base64 -A -in game\.public\.der$/m.exec(DEPLOY);
    expect(command).not.toBeNull();
    const der = join(ROOT, 'examples', 'keys', 'sample-public.der');
    const publicKey = execFileSync('openssl', command![0].split(' ').slice(1).map((w) => (w === 'game.public.der' ? der : w)), { encoding: 'utf8' });
    expect(publicKey).toBe(readFileSync(der).toString('base64'));
    expect(validateStudioConfig({ games: [{ id: 'g1', projectTitle: 'Sample', publicKey }] })).toMatchObject({ ok: true, config: { games: [{ publicKey: expect.any(String) }] } });
  });

  test('describes the LiveUpdateSettings output as the stack emits it', () => {
    const template = Template.fromStack(new StudioStack(testApp(), 'Lup', { config: exampleConfig() })).toJSON() as { Outputs: Record<string, { Value: unknown }> };
    const bucket = template.Outputs.BucketName.Value;
    const emitted = text(template.Outputs.LiveUpdateSettings.Value).split(text(bucket)).join('<BucketName>');
    expect(oneLine(DEPLOY)).toContain(`The output is one line, \`${emitted}\``);
    expect(Object.keys(template.Outputs).filter((k) => k.startsWith('LiveUpdateSettings'))).toEqual(['LiveUpdateSettings']);
  });

  test('cites AWS pricing pages for every price', () => {
    const start = DEPLOY.indexOf('| item | price | source |');
    const costs = DEPLOY.slice(start, DEPLOY.indexOf('\n\n', start));
    const rows = [...costs.matchAll(/^\| (?!item |---)(.+) \| (.+) \| (.+) \|$/gm)].filter((m) => m[3] !== 'same');
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) {
      const links = [...row[3].matchAll(/\]\((https?:[^)]+)\)/g)].map((m) => m[1]);
      expect({ item: row[1], links }).toEqual({ item: row[1], links: expect.arrayContaining([expect.stringMatching(/^https:\/\/aws\.amazon\.com\/[a-z0-9-]+\/pricing\/$/)]) });
      for (const link of links) expect(link).toMatch(/^https:\/\/aws\.amazon\.com\//);
    }
  });

  test('points at the README for which principal runs which command', () => {
    expect(DEPLOY).toContain('[Which key runs which command](../README.md#which-key-runs-which-command)');
  });
});
