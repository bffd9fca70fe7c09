/**
 * Regenerates the README's console screenshots (docs/console/*.png): the sample game published
 * twice on a fresh local stack, a refused upload, then the console in headless Chromium — the
 * overview, the rollback confirmation, the history after the rollback, and the refused upload.
 *
 *   npm run console:screenshots
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openTarget } from '../lib/cli/target';
import { startConsoleServer } from '../lib/console/console-server';
import { keys } from '../lib/core/keys';
import { launchChromium } from '../test/helpers/chromium';
import { captureIo } from '../test/helpers/cli-run';
import { startPublishedStack } from '../test/helpers/published-stack';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'docs', 'console');
const SAMPLE = (version: string): string => join(ROOT, 'examples', 'sample-game', version, 'sample.zip');

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const published = await startPublishedStack();
  const target = await openTarget({ endpoint: published.stack.s3Endpoint, cdn: published.stack.cdnBaseUrl }, captureIo(published.dir));
  const console_ = await startConsoleServer({ backend: target, port: 0, pollIntervalMs: 500 });
  const browser = await launchChromium();
  try {
    await published.publishArchive({ game: 'sample', upload: 'build-101', channel: 'stable', zip: SAMPLE('v1'), note: 'CI build 101' });
    await published.publishArchive({ game: 'sample', upload: 'build-102', channel: 'beta', zip: SAMPLE('v2'), note: 'CI build 102' });
    await published.publishArchive({ game: 'sample', upload: 'build-103', channel: 'stable', zip: SAMPLE('v2'), note: 'CI build 103' });
    // A release request naming an archive that never arrived: refused, with its error.
    await published.stack.store.put(keys.releaseRequest('sample', 'build-104'), JSON.stringify({
      schemaVersion: 1, game: 'sample', upload: 'build-104', channel: 'stable', kind: 'archives',
      archives: [{ name: 'levels.zip', sha256: 'ab'.repeat(32), sizeBytes: 10, priority: 0 }], requestedAt: new Date().toISOString(),
    }));
    await published.stack.router.idle();

    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900, deviceScaleFactor: 1 });
    await page.goto(`${console_.url}#game=sample&channel=stable`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.screenshot({ path: join(OUT, 'overview.png'), fullPage: true });

    await page.click('article[data-channel="stable"] button[aria-label="Roll back stable"]');
    await page.waitForFunction("document.getElementById('confirm-summary').textContent.length > 0");
    await page.screenshot({ path: join(OUT, 'confirm-rollback.png') });
    await page.click('#confirm-ok');
    await page.waitForFunction("document.querySelector('#timeline li.current .badge')?.textContent === 'rollback'");
    await (await page.$('section[aria-labelledby="history-title"]'))!.screenshot({ path: join(OUT, 'history.png') });
    await (await page.$('section[aria-labelledby="uploads-title"]'))!.screenshot({ path: join(OUT, 'uploads.png') });
    process.stdout.write(`Screenshots written to ${OUT}\n`);
  } finally {
    await browser.close();
    await console_.close();
    await target.close();
    await published.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
