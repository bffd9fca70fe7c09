/**
 * The console in headless Chromium on a real local stack (its signed S3 endpoint, as `lup console
 * --endpoint` reaches a running `lup local`) after two publishes and one refused upload.
 */
import type { Browser, Page } from 'puppeteer-core';
import { openTarget, type Target } from '../../lib/cli/target';
import { startConsoleServer, type ConsoleServer } from '../../lib/console/console-server';
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { launchChromium } from '../helpers/chromium';
import { captureIo } from '../helpers/cli-run';
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

const POLL_MS = 300;

let published: PublishedStack;
let target: Target;
let server: ConsoleServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162, note: 'CI 1' });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'stable', zip: FIXTURE_ZIPS.v1112, note: 'CI 2' });
  // A release request naming an archive that never arrives: refused at once.
  await published.stack.store.put(keys.releaseRequest('space', 'build-3'), JSON.stringify({
    schemaVersion: 1, game: 'space', upload: 'build-3', channel: 'stable', kind: 'archives',
    archives: [{ name: 'levels.zip', sha256: 'ab'.repeat(32), sizeBytes: 10, priority: 0 }], requestedAt: new Date().toISOString(),
  }));
  await published.stack.router.idle();
  target = await openTarget({ endpoint: published.stack.s3Endpoint, cdn: published.stack.cdnBaseUrl }, captureIo(published.dir));
  server = await startConsoleServer({ backend: target, port: 0, pollIntervalMs: POLL_MS });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await target?.close();
  await published?.close();
});

async function storedPointer(channel: string): Promise<ChannelPointer> {
  const object = await published.stack.store.get(keys.pointer('space', channel));
  return JSON.parse(Buffer.from(object!.body).toString('utf8')) as ChannelPointer;
}

const cardText = (channel: string): Promise<string> => page.$eval(`article[data-channel="${channel}"] .release-id`, (e) => e.textContent ?? '');

describe('lup console in Chromium', () => {
  test('drops the token from the address bar and shows the live release of the channel', async () => {
    expect(page.url()).not.toContain('token=');
    expect(await cardText('stable')).toBe('build-2 — CI 2');
    expect(await page.$eval('article[data-channel="stable"] .sequence', (e) => e.textContent)).toBe('2');
  });

  test('polls with ETags: nothing changed, nothing re-rendered', async () => {
    const before = await page.$eval('body', (b) => b.dataset.channelRenders);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    expect(await page.$eval('body', (b) => b.dataset.channelRenders)).toBe(before);
  });

  test('rolls back with a click and a confirmation naming the change; the pointer moved and the history shows it', async () => {
    await page.click('article[data-channel="stable"] button[aria-label="Roll back stable"]');
    await page.waitForFunction("document.getElementById('confirm-summary').textContent.length > 0");
    expect(await page.$eval('#confirm-summary', (e) => e.textContent)).toBe(
      'Channel stable of game space will serve release build-1 instead of build-2 (sequence 2 → 3). Players get it on their next pointer fetch.');
    expect(await page.$eval('#confirm', (d) => (d as unknown as { open: boolean }).open)).toBe(true);
    await page.click('#confirm-ok');
    await page.waitForFunction("document.querySelector('#timeline li.current .badge')?.textContent === 'rollback'");

    expect(await storedPointer('stable')).toMatchObject({ releaseId: 'build-1', sequence: 3, cause: 'rollback' });
    const timeline = await page.$$eval('#timeline li', (items) => items.map((li) => `${li.dataset.sequence} ${li.querySelector('.badge')?.textContent} ${li.querySelector('a')?.textContent}`));
    expect(timeline).toEqual(['3 rollback build-1', '2 release build-2', '1 release build-1']);
    expect(await cardText('stable')).toBe('build-1 — CI 1');
    expect(await page.$eval('#confirm', (d) => (d as unknown as { open: boolean }).open)).toBe(false);
  });

  test('follows a flip made elsewhere (lup rollback) by polling', async () => {
    const cli = await published.lup(['rollback', '--game', 'space', '--channel', 'stable', '--to', 'build-2']);
    expect(cli.code).toBe(0);
    await page.waitForFunction(`document.querySelector('article[data-channel="stable"] .sequence')?.textContent === '4'`, { timeout: 10_000 });
    expect(await cardText('stable')).toBe('build-2 — CI 2');
  });

  test('shows a refused upload with its error code and the text lup status prints', async () => {
    const codes = await page.$$eval('tr[data-upload="build-3"] pre.error', (pres) => pres.map((p) => p.dataset.code));
    expect(codes).toEqual(['RELEASE_INCOMPLETE']);
    const status = await published.lup(['status', '--game', 'space', '--upload', 'build-3']);
    const shown = await page.$eval('tr[data-upload="build-3"] pre.error', (p) => p.textContent);
    expect(status.err).toContain(shown);
  });

  test('a page load without the token is refused with 403', async () => {
    const other = await browser.createBrowserContext();
    try {
      const response = await (await other.newPage()).goto(`${server.origin}/`);
      expect(response?.status()).toBe(403);
    } finally {
      await other.close();
    }
  });
});
